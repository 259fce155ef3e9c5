import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { EventSchemaViolation, UnknownEventType } from './errors.ts';
import type { RecordedEvent } from './types.ts';

/** Turns the data of `type` at `fromVersion` into the data of `fromVersion + 1`. Pure. */
export type Upcaster = { type: string; fromVersion: number; upcast: (data: unknown) => unknown };

export type EventSchema = { type: string; version: number; schema: object };

/** The repository's `schemas/events` folder. */
export const DEFAULT_SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/events/', import.meta.url));

const FILE_NAME = /^([A-Za-z][A-Za-z0-9]*)\.v([1-9][0-9]*)\.json$/;

/** A schema and, once an event of its type and version has been validated, its compiled validator. */
type SchemaEntry = { schema: object; validate: ValidateFunction | null };

/**
 * The JSON Schemas of every event type and version. The store validates each event against it on
 * append and upcasts older versions to the newest on read.
 *
 * A schema is compiled the first time an event of its type and version is validated (compiling all
 * of them costs about half a second, which every process would pay at start); `compileAll` compiles
 * every one now (the schema tests call it, so a schema strict mode refuses fails there).
 */
export class SchemaRegistry {
  private readonly validators = new Map<string, Map<number, SchemaEntry>>();
  private readonly upcasters = new Map<string, Upcaster>();
  private readonly ajv = new Ajv2020({ allErrors: false, strict: true });

  constructor(schemas: readonly EventSchema[], upcasters: readonly Upcaster[] = []) {
    for (const { type, version, schema } of schemas) {
      const versions = this.validators.get(type) ?? new Map<number, SchemaEntry>();
      versions.set(version, { schema, validate: null });
      this.validators.set(type, versions);
    }
    for (const [type, versions] of this.validators) {
      const latest = Math.max(...versions.keys());
      for (let v = 1; v < latest; v++) {
        if (!versions.has(v)) throw new Error(`schemas for ${type}: version ${v} is missing below v${latest}`);
      }
    }
    for (const upcaster of upcasters) {
      const latest = this.latestVersion(upcaster.type);
      if (upcaster.fromVersion >= latest) {
        throw new Error(`upcaster ${upcaster.type} v${upcaster.fromVersion}: there is no newer schema`);
      }
      this.upcasters.set(`${upcaster.type}@${upcaster.fromVersion}`, upcaster);
    }
    for (const [type, versions] of this.validators) {
      for (const v of versions.keys()) {
        if (v < Math.max(...versions.keys()) && !this.upcasters.has(`${type}@${v}`)) {
          throw new Error(`schemas for ${type}: no upcaster from v${v} to v${v + 1}`);
        }
      }
    }
  }

  /** Loads every `<Type>.v<N>.json` in a folder. */
  static fromDirectory(dir: string = DEFAULT_SCHEMA_DIR, upcasters: readonly Upcaster[] = []): SchemaRegistry {
    const schemas: EventSchema[] = [];
    for (const file of readdirSync(dir).sort()) {
      const match = FILE_NAME.exec(file);
      if (!match) continue;
      const schema: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      if (typeof schema !== 'object' || schema === null) throw new Error(`${file}: not a JSON Schema object`);
      schemas.push({ type: match[1]!, version: Number(match[2]), schema });
    }
    return new SchemaRegistry(schemas, upcasters);
  }

  /** Compiles every schema now; throws on the first one strict mode refuses. */
  compileAll(): void {
    for (const versions of this.validators.values()) for (const entry of versions.values()) this.compiled(entry);
  }

  private compiled(entry: SchemaEntry): ValidateFunction {
    entry.validate ??= this.ajv.compile(entry.schema);
    return entry.validate;
  }

  types(): string[] {
    return [...this.validators.keys()].sort();
  }

  latestVersion(type: string): number {
    const versions = this.validators.get(type);
    if (!versions) throw new UnknownEventType(type);
    return Math.max(...versions.keys());
  }

  /** Throws UnknownEventType or EventSchemaViolation (naming the first failing field). */
  validate(type: string, version: number, data: unknown): void {
    const versions = this.validators.get(type);
    if (!versions) throw new UnknownEventType(type);
    const entry = versions.get(version);
    if (!entry) throw new UnknownEventType(type, version);
    const validate = this.compiled(entry);
    if (validate(data)) return;
    const error = validate.errors?.[0];
    if (!error) throw new EventSchemaViolation(type, version, '', 'does not match its schema');
    const field =
      error.keyword === 'required' || error.keyword === 'additionalProperties'
        ? `${error.instancePath}/${String(error.params.missingProperty ?? error.params.additionalProperty)}`
        : error.instancePath;
    const reason = error.keyword === 'additionalProperties' ? 'is not allowed' : error.keyword === 'required' ? 'is required' : (error.message ?? 'is invalid');
    throw new EventSchemaViolation(type, version, field, reason);
  }

  /** The event at its type's newest schema version; `stored` keeps what the hash chain covers. */
  upcast(event: RecordedEvent): RecordedEvent {
    const versions = this.validators.get(event.type);
    if (!versions) return event;
    const latest = Math.max(...versions.keys());
    if (event.schemaVersion >= latest) return event;
    let data = event.data;
    for (let v = event.schemaVersion; v < latest; v++) {
      data = this.upcasters.get(`${event.type}@${v}`)!.upcast(data);
    }
    return { ...event, schemaVersion: latest, data, stored: { schemaVersion: event.schemaVersion, data: event.data } };
  }
}
