/**
 * A form generated from a JSON Schema (the entity schemas of GET /schemas/:kind and the plugin config
 * schemas of GET /plugins-available): one labelled input per field, the schema's description as help
 * text, required fields marked, and errors (client checks or the admin API's `errors[]`) shown on the
 * field their JSON Pointer names. Errors that name no rendered field go to a summary at the top. A JSON
 * tab edits the same value as text, for anything the form cannot represent.
 */
import { createContext, useContext, useId, useMemo, useState, type ReactNode } from 'react';
import type { FieldError } from '../../lib/api-client';
import {
  alternatives,
  childPointer,
  defaultsOf,
  enumValues,
  fieldPointers,
  humanize,
  isPlainObject,
  isRequired,
  mapValueSchema,
  normalize,
  placeErrors,
  variantIndex,
  variantLabel,
  widgetOf,
  type JsonSchema,
} from './json-schema';

export interface SchemaFormProps {
  schema: JsonSchema;
  value: unknown;
  onChange: (value: unknown) => void;
  /** Client-side or server-side problems, each at a JSON Pointer into `value`. */
  errors?: readonly FieldError[];
  /** Top-level properties not shown (e.g. a store-assigned `id`). */
  hidden?: readonly string[];
  /** Values offered as suggestions for a text field, by pointer (e.g. service names for `/service`). */
  suggestions?: Record<string, readonly string[]>;
  disabled?: boolean;
  /** Accessible name of the form's field group. */
  label: string;
}

interface Ctx {
  idBase: string;
  errors: Map<string, string[]>;
  suggestions: Record<string, readonly string[]>;
  disabled: boolean;
}

const FormContext = createContext<Ctx>({ idBase: 'sf', errors: new Map(), suggestions: {}, disabled: false });

function idFor(base: string, pointer: string): string {
  return `${base}${pointer.replace(/[^A-Za-z0-9_-]/g, '_') || '_root'}`;
}

export function SchemaForm({ schema, value, onChange, errors = [], hidden = [], suggestions = {}, disabled = false, label }: SchemaFormProps) {
  const idBase = `sf${useId().replace(/[^A-Za-z0-9]/g, '')}`;
  const [tab, setTab] = useState<'form' | 'json'>('form');
  const { byField, unplaced } = useMemo(() => placeErrors(fieldPointers(schema, value, '', hidden), errors), [schema, value, hidden, errors]);
  const ctx = useMemo(() => ({ idBase, errors: byField, suggestions, disabled }), [idBase, byField, suggestions, disabled]);

  return (
    <FormContext.Provider value={ctx}>
      <div className="schema-form" role="group" aria-label={label}>
        {(unplaced.length > 0 || byField.size > 0) && (
          <div className="error" role="alert">
            <p>
              {errors.length === 1 ? 'One problem' : `${errors.length} problems`} to fix before saving
              {byField.size > 0 ? ` (${byField.size === 1 ? 'one field' : `${byField.size} fields`} marked below)` : ''}.
            </p>
            {unplaced.length > 0 && (
              <ul>
                {unplaced.map((e, i) => (
                  <li key={i}>
                    {e.path && e.path !== '/' ? <code>{e.path}</code> : null} {e.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <div className="tabs" role="tablist" aria-label="Editor">
          <button type="button" role="tab" aria-selected={tab === 'form'} aria-controls={`${idBase}-form`} className={tab === 'form' ? '' : 'secondary'} onClick={() => setTab('form')}>
            Form
          </button>
          <button type="button" role="tab" aria-selected={tab === 'json'} aria-controls={`${idBase}-json`} className={tab === 'json' ? '' : 'secondary'} onClick={() => setTab('json')}>
            JSON
          </button>
        </div>
        {tab === 'form' ? (
          <div id={`${idBase}-form`} role="tabpanel">
            <ObjectFields schema={normalize(schema)} value={value} onChange={onChange} pointer="" hidden={hidden} />
          </div>
        ) : (
          <div id={`${idBase}-json`} role="tabpanel">
            <JsonText label={`${label} as JSON`} value={value} onChange={onChange} pointer="" rows={18} />
          </div>
        )}
      </div>
    </FormContext.Provider>
  );
}

interface FieldProps {
  schema: JsonSchema;
  value: unknown;
  onChange: (value: unknown) => void;
  pointer: string;
  label: string;
  required: boolean;
}

function ObjectFields({ schema, value, onChange, pointer, hidden = [] }: { schema: JsonSchema; value: unknown; onChange: (v: unknown) => void; pointer: string; hidden?: readonly string[] }) {
  const obj = isPlainObject(value) ? value : {};
  return (
    <div className="sf-fields">
      {Object.entries(schema.properties ?? {}).map(([name, prop]) => {
        if (pointer === '' && hidden.includes(name)) return null;
        return (
          <Field
            key={name}
            schema={prop}
            value={obj[name]}
            pointer={childPointer(pointer, name)}
            label={prop.title ?? humanize(name)}
            required={isRequired(schema, name)}
            onChange={(v) => {
              const next = { ...obj };
              if (v === undefined) delete next[name];
              else next[name] = v;
              onChange(next);
            }}
          />
        );
      })}
    </div>
  );
}

function Field(props: FieldProps) {
  const schema = normalize(props.schema);
  const p = { ...props, schema };
  switch (widgetOf(schema)) {
    case 'string':
      return <StringField {...p} />;
    case 'integer':
    case 'number':
      return <NumberField {...p} />;
    case 'boolean':
      return <BooleanField {...p} />;
    case 'enum':
      return <EnumField {...p} />;
    case 'array-enum':
      return <EnumListField {...p} />;
    case 'array-scalar':
      return <ScalarListField {...p} />;
    case 'array-object':
      return <ObjectListField {...p} />;
    case 'object':
      return <ObjectField {...p} />;
    case 'map':
      return <MapField {...p} />;
    case 'variant':
      return <VariantField {...p} />;
    default:
      return <JsonField {...p} />;
  }
}

/** Ids of a field's input, help text and error, and the aria attributes that tie them together. */
function useFieldIds(pointer: string, schema: JsonSchema) {
  const { idBase, errors, disabled, suggestions } = useContext(FormContext);
  const id = idFor(idBase, pointer);
  const fieldErrors = errors.get(pointer) ?? [];
  const help = helpText(schema);
  const describedBy = [help ? `${id}-help` : '', fieldErrors.length ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return {
    id,
    fieldErrors,
    help,
    disabled,
    suggestions: suggestions[pointer],
    aria: { 'aria-describedby': describedBy, 'aria-invalid': fieldErrors.length > 0 ? true : undefined },
  };
}

function helpText(schema: JsonSchema): string | undefined {
  const parts: string[] = [];
  if (schema.description) parts.push(schema.description);
  const d = schema.default;
  if (d !== undefined && (typeof d !== 'object' || (Array.isArray(d) && d.length > 0))) parts.push(`Default: ${Array.isArray(d) ? d.join(', ') : String(d)}.`);
  return parts.length ? parts.join(' ') : undefined;
}

function LabelText({ label, required }: { label: string; required: boolean }) {
  return (
    <>
      {label}
      {required && (
        <span className="sf-required" aria-hidden="true">
          {' '}
          *
        </span>
      )}
    </>
  );
}

function Help({ id, help, errors }: { id: string; help: string | undefined; errors: string[] }) {
  return (
    <>
      {help && (
        <p id={`${id}-help`} className="sf-help">
          {help}
        </p>
      )}
      {errors.length > 0 && (
        <p id={`${id}-error`} className="sf-error">
          {errors.join('; ')}
        </p>
      )}
    </>
  );
}

function StringField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  const long = (schema.maxLength ?? 0) > 2048 && !schema.pattern;
  const common = {
    id: f.id,
    value: typeof value === 'string' ? value : '',
    required,
    disabled: f.disabled,
    ...f.aria,
    onChange: (e: { target: { value: string } }) => onChange(e.target.value === '' && !required ? undefined : e.target.value),
  };
  return (
    <div className={`sf-field${f.fieldErrors.length ? ' sf-invalid' : ''}`}>
      <label htmlFor={f.id}>
        <LabelText label={label} required={required} />
      </label>
      {long ? (
        <textarea {...common} rows={4} />
      ) : (
        <input {...common} type="text" list={f.suggestions ? `${f.id}-list` : undefined} placeholder={typeof schema.default === 'string' ? schema.default : undefined} autoComplete="off" spellCheck={false} />
      )}
      {f.suggestions && (
        <datalist id={`${f.id}-list`}>
          {f.suggestions.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      )}
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
    </div>
  );
}

function NumberField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  // The text is kept while it does not parse ("-", "1e"), so typing is not fought; the value follows when it does.
  const [text, setText] = useState<string | undefined>();
  const shown = text ?? (typeof value === 'number' ? String(value) : '');
  return (
    <div className={`sf-field${f.fieldErrors.length ? ' sf-invalid' : ''}`}>
      <label htmlFor={f.id}>
        <LabelText label={label} required={required} />
      </label>
      <input
        id={f.id}
        type="text"
        inputMode={schema.type === 'integer' ? 'numeric' : 'decimal'}
        value={shown}
        required={required}
        disabled={f.disabled}
        placeholder={typeof schema.default === 'number' ? String(schema.default) : undefined}
        autoComplete="off"
        {...f.aria}
        onChange={(e) => {
          const raw = e.target.value.trim();
          if (raw === '') {
            setText(undefined);
            onChange(undefined);
            return;
          }
          const n = Number(raw);
          if (Number.isFinite(n) && /^-?\d*\.?\d+(e[+-]?\d+)?$/i.test(raw)) {
            setText(undefined);
            onChange(n);
          } else setText(e.target.value);
        }}
      />
      {text !== undefined && <p className="sf-error">Not a number yet: the previous value is kept.</p>}
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
    </div>
  );
}

function BooleanField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  const checked = typeof value === 'boolean' ? value : schema.default === true;
  return (
    <div className={`sf-field sf-check${f.fieldErrors.length ? ' sf-invalid' : ''}`}>
      <label htmlFor={f.id}>
        <input id={f.id} type="checkbox" checked={checked} disabled={f.disabled} {...f.aria} onChange={(e) => onChange(e.target.checked)} />{' '}
        <LabelText label={label} required={required} />
      </label>
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
    </div>
  );
}

function EnumField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  const values = enumValues(schema) ?? [];
  const index = values.findIndex((v) => v === value);
  const unsetLabel = schema.default !== undefined ? `Default (${String(schema.default)})` : 'Not set';
  return (
    <div className={`sf-field${f.fieldErrors.length ? ' sf-invalid' : ''}`}>
      <label htmlFor={f.id}>
        <LabelText label={label} required={required} />
      </label>
      <select id={f.id} value={index === -1 ? '' : String(index)} required={required} disabled={f.disabled} {...f.aria} onChange={(e) => onChange(e.target.value === '' ? undefined : values[Number(e.target.value)])}>
        {(index === -1 || !required) && <option value="">{required ? 'Choose…' : unsetLabel}</option>}
        {values.map((v, i) => (
          <option key={String(v)} value={String(i)}>
            {String(v)}
          </option>
        ))}
      </select>
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
    </div>
  );
}

/** A list of allowed values (methods, protocols): one checkbox each. */
function EnumListField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  const values = enumValues(normalize(schema.items!)) ?? [];
  const list = Array.isArray(value) ? value : [];
  return (
    <fieldset className={`sf-field sf-choices${f.fieldErrors.length ? ' sf-invalid' : ''}`} id={f.id} {...f.aria}>
      <legend>
        <LabelText label={label} required={required} />
      </legend>
      <div className="sf-choice-row">
        {values.map((v) => (
          <label key={String(v)} className="sf-choice">
            <input
              type="checkbox"
              checked={list.includes(v)}
              disabled={f.disabled}
              onChange={(e) => onChange(e.target.checked ? values.filter((x) => x === v || list.includes(x)) : list.filter((x) => x !== v))}
            />{' '}
            {String(v)}
          </label>
        ))}
      </div>
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
    </fieldset>
  );
}

/** A list of strings or numbers: one input per item, Add and Remove buttons. */
function ScalarListField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  const list = Array.isArray(value) ? value : [];
  const items = normalize(schema.items!);
  const numeric = items.type === 'integer' || items.type === 'number';
  const full = schema.maxItems !== undefined && list.length >= schema.maxItems;
  const set = (i: number, v: unknown) => onChange(list.map((x, k) => (k === i ? v : x)));
  return (
    <fieldset className={`sf-field sf-list${f.fieldErrors.length ? ' sf-invalid' : ''}`} id={f.id} {...f.aria}>
      <legend>
        <LabelText label={label} required={required} />
      </legend>
      {list.length === 0 && <p className="sf-none">None.</p>}
      {list.map((item, i) => (
        <div className="sf-row" key={i}>
          <input
            type="text"
            aria-label={`${label} ${i + 1}`}
            inputMode={numeric ? 'numeric' : undefined}
            value={item === undefined || item === null ? '' : String(item)}
            disabled={f.disabled}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => {
              const raw = e.target.value;
              if (!numeric) return set(i, raw);
              const n = Number(raw);
              set(i, raw.trim() === '' || Number.isNaN(n) ? raw : n);
            }}
          />
          <button type="button" className="secondary" disabled={f.disabled} aria-label={`Remove ${label} ${i + 1}`} onClick={() => onChange(list.filter((_, k) => k !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="secondary sf-add" disabled={f.disabled || full} onClick={() => onChange([...list, numeric ? undefined : ''])}>
        Add {label.toLowerCase()}
      </button>
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
    </fieldset>
  );
}

/** A list of objects (upstream targets, JWT issuers): a group of fields per item. */
function ObjectListField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  const list = Array.isArray(value) ? value : [];
  const items = normalize(schema.items!);
  const full = schema.maxItems !== undefined && list.length >= schema.maxItems;
  return (
    <fieldset className={`sf-field sf-nested${f.fieldErrors.length ? ' sf-invalid' : ''}`} id={f.id} {...f.aria}>
      <legend>
        <LabelText label={label} required={required} />
      </legend>
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
      {list.length === 0 && <p className="sf-none">None.</p>}
      {list.map((item, i) => (
        <fieldset className="sf-nested sf-item" key={i}>
          <legend>
            {label} {i + 1}
          </legend>
          <ObjectFields schema={items} value={item} pointer={childPointer(pointer, i)} onChange={(v) => onChange(list.map((x, k) => (k === i ? v : x)))} />
          <button type="button" className="secondary" disabled={f.disabled} onClick={() => onChange(list.filter((_, k) => k !== i))}>
            Remove {label.toLowerCase()} {i + 1}
          </button>
        </fieldset>
      ))}
      <button type="button" className="secondary sf-add" disabled={f.disabled || full} onClick={() => onChange([...list, defaultsOf(items)])}>
        Add {label.toLowerCase()}
      </button>
    </fieldset>
  );
}

/** A nested object; an optional one without a default can be left out entirely. */
function ObjectField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  const optional = !required && schema.default === undefined;
  const present = value !== undefined;
  return (
    <fieldset className={`sf-field sf-nested${f.fieldErrors.length ? ' sf-invalid' : ''}`} id={f.id} {...f.aria}>
      <legend>
        <LabelText label={label} required={required} />
      </legend>
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
      {optional && !present ? (
        <button type="button" className="secondary" disabled={f.disabled} onClick={() => onChange(defaultsOf(schema) ?? {})}>
          Set {label.toLowerCase()}
        </button>
      ) : (
        <>
          <ObjectFields schema={schema} value={value} pointer={pointer} onChange={onChange} />
          {optional && (
            <button type="button" className="secondary" disabled={f.disabled} onClick={() => onChange(undefined)}>
              Remove {label.toLowerCase()}
            </button>
          )}
        </>
      )}
    </fieldset>
  );
}

/** A `Record` (header → value, claim → header): rows of name and value. */
function MapField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  const obj = isPlainObject(value) ? value : {};
  const entries = Object.entries(obj);
  const { value: valueSchema } = mapValueSchema(schema);
  const valueWidget = widgetOf(valueSchema);
  const emit = (next: [string, unknown][]) => onChange(next.length === 0 && !required ? undefined : Object.fromEntries(next));
  return (
    <fieldset className={`sf-field sf-map${f.fieldErrors.length ? ' sf-invalid' : ''}`} id={f.id} {...f.aria}>
      <legend>
        <LabelText label={label} required={required} />
      </legend>
      {entries.length === 0 && <p className="sf-none">None.</p>}
      {entries.map(([k, v], i) => (
        <div className="sf-row" key={i}>
          <input
            type="text"
            aria-label={`${label} ${i + 1} name`}
            placeholder="name"
            value={k}
            disabled={f.disabled}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => emit(entries.map(([kk, vv], j) => (j === i ? [e.target.value, vv] : [kk, vv])))}
          />
          {valueWidget === 'string' || valueWidget === 'enum' || valueWidget === 'integer' || valueWidget === 'number' || valueWidget === 'boolean' ? (
            <input
              type="text"
              aria-label={`${label} ${i + 1} value`}
              placeholder="value"
              value={v === undefined ? '' : String(v)}
              disabled={f.disabled}
              autoComplete="off"
              spellCheck={false}
              onChange={(e) => {
                const raw = e.target.value;
                const typed = valueWidget === 'integer' || valueWidget === 'number' ? (raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw) : valueWidget === 'boolean' ? raw === 'true' : raw;
                emit(entries.map(([kk, vv], j) => (j === i ? [kk, typed] : [kk, vv])));
              }}
            />
          ) : valueWidget === 'array-scalar' ? (
            <input
              type="text"
              aria-label={`${label} ${i + 1} values, comma-separated`}
              placeholder="values, comma-separated"
              value={Array.isArray(v) ? v.join(', ') : ''}
              disabled={f.disabled}
              autoComplete="off"
              onChange={(e) =>
                emit(
                  entries.map(([kk, vv], j) =>
                    j === i
                      ? [
                          kk,
                          e.target.value
                            .split(',')
                            .map((s) => s.trim())
                            .filter(Boolean),
                        ]
                      : [kk, vv],
                  ),
                )
              }
            />
          ) : (
            <JsonText label={`${label} ${i + 1} value (JSON)`} value={v} pointer={childPointer(pointer, k)} rows={2} onChange={(nv) => emit(entries.map(([kk, vv], j) => (j === i ? [kk, nv] : [kk, vv])))} />
          )}
          <button type="button" className="secondary" disabled={f.disabled} aria-label={`Remove ${label} ${i + 1}`} onClick={() => emit(entries.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button
        type="button"
        className="secondary sf-add"
        disabled={f.disabled || '' in obj}
        onClick={() => emit([...entries, ['', valueWidget === 'array-scalar' ? [] : valueWidget === 'string' ? '' : null]])}
      >
        Add entry
      </button>
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
    </fieldset>
  );
}

/** `anyOf`/`oneOf` of different shapes (an OpenAPI document as text or object): pick one, edit it. */
function VariantField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  const alts = alternatives(schema)!;
  const current = variantIndex(schema, value);
  const alt = normalize(alts[current]!);
  return (
    <fieldset className={`sf-field sf-nested${f.fieldErrors.length ? ' sf-invalid' : ''}`} id={`${f.id}-group`}>
      <legend>
        <LabelText label={label} required={required} />
      </legend>
      {/* The chosen alternative's own field shows the errors at this pointer. */}
      <Help id={`${f.id}-group`} help={f.help} errors={[]} />
      <label htmlFor={`${f.id}-kind`}>Kind of value</label>
      <select id={`${f.id}-kind`} value={String(current)} disabled={f.disabled} onChange={(e) => onChange(startValue(alts[Number(e.target.value)]!))}>
        {alts.map((a, i) => (
          <option key={i} value={String(i)}>
            {variantLabel(a, i)}
          </option>
        ))}
      </select>
      <Field schema={{ ...alt, description: alt.description }} value={value} onChange={onChange} pointer={pointer} label={`${label} (${variantLabel(alt, current).toLowerCase()})`} required={required} />
    </fieldset>
  );
}

/** A switched-to alternative starts from its default, or an empty value of its type so the choice sticks. */
function startValue(schema: JsonSchema): unknown {
  const d = defaultsOf(schema);
  if (d !== undefined) return d;
  const t = normalize(schema).type;
  return t === 'object' ? {} : t === 'array' ? [] : t === 'string' ? '' : undefined;
}

function JsonField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const f = useFieldIds(pointer, schema);
  return (
    <div className={`sf-field${f.fieldErrors.length ? ' sf-invalid' : ''}`}>
      <label htmlFor={f.id}>
        <LabelText label={label} required={required} /> <span className="muted">(JSON)</span>
      </label>
      <JsonText id={f.id} label={undefined} value={value} onChange={onChange} pointer={pointer} rows={4} describedBy={f.aria['aria-describedby']} invalid={f.aria['aria-invalid']} />
      <Help id={f.id} help={f.help} errors={f.fieldErrors} />
    </div>
  );
}

/** JSON text that is parsed as it is typed; text that does not parse is kept and flagged, the value is not touched. */
function JsonText({
  id,
  label,
  value,
  onChange,
  rows,
  describedBy,
  invalid,
}: {
  id?: string;
  label: string | undefined;
  value: unknown;
  onChange: (v: unknown) => void;
  pointer: string;
  rows: number;
  describedBy?: string;
  invalid?: boolean;
}): ReactNode {
  const { disabled } = useContext(FormContext);
  // The typed text is kept while it belongs to the current value, so valid JSON is not reformatted under the cursor.
  const [draft, setDraft] = useState<{ text: string; error?: string; forValue: unknown } | undefined>();
  const own = draft !== undefined && draft.forValue === value;
  const text = own ? draft.text : value === undefined ? '' : JSON.stringify(value, null, 2);
  const parseError = own ? draft.error : undefined;
  const localId = useId();
  const errorId = `${id ?? localId}-parse`;
  return (
    <>
      <textarea
        id={id}
        aria-label={label}
        className="mono"
        rows={rows}
        value={text}
        disabled={disabled}
        spellCheck={false}
        aria-describedby={[describedBy, parseError ? errorId : ''].filter(Boolean).join(' ') || undefined}
        aria-invalid={invalid || parseError ? true : undefined}
        onChange={(e) => {
          const t = e.target.value;
          if (t.trim() === '') {
            setDraft(undefined);
            onChange(undefined);
            return;
          }
          try {
            const parsed: unknown = JSON.parse(t);
            setDraft({ text: t, forValue: parsed });
            onChange(parsed);
          } catch (err) {
            setDraft({ text: t, error: (err as Error).message, forValue: value });
          }
        }}
      />
      {parseError && (
        <p id={errorId} className="sf-error">
          Not valid JSON yet ({parseError}); the last valid value is kept.
        </p>
      )}
    </>
  );
}
