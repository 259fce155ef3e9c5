import { builder } from '../builder.ts';
import './errors.ts';
import './pagination.ts';
import './catalogue.ts';
import './projections.ts';
import './site.ts';

builder.queryType({});
builder.mutationType({});

export const schema = builder.toSchema();
