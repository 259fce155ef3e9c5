import { builder } from '../builder.ts';
import './errors.ts';
import './pagination.ts';
import './catalogue.ts';
import './projections.ts';
import './site.ts';
import './grid-errors.ts';
import './grid-site.ts';
import './sessions.ts';
import './metering-errors.ts';
import './metering.ts';
import './grid-read-model.ts';
import './setpoints-subscription.ts';
import './money.ts';
import './billing.ts';
import './market-errors.ts';
import './market.ts';
import './settlement.ts';
import './directory.ts';
import './api-keys.ts';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

export const schema = builder.toSchema();
