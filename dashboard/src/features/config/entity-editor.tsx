/**
 * Create or edit one entity with a form generated from its schema. Save checks the basic rules in the
 * browser, then opens the change review (diff of before and after); only Apply calls the admin API. A
 * 400 with `errors[]` comes back onto the form's fields; other failures stay in the review dialog.
 */
import { useCallback, useId, useMemo, useState, type FormEvent } from 'react';
import { defaultsOf, isPlainObject, prune, validateValue } from '../../components/schema-form/json-schema';
import { SchemaForm } from '../../components/schema-form/schema-form';
import type { ApiClient, FieldError, Page } from '../../lib/api-client';
import { useResource } from '../../lib/use-resource';
import { asPage } from '../../components/section';
import { ChangeDialog, type PendingChange } from '../../components/change-dialog';
import { apiPath, entityLabel, KINDS, keyOf, type Entity, type EntityKind } from './kinds';
import { loadSchemas, pluginInstanceSchema, type KindSchemas } from './schemas';

export interface EntityEditorProps {
  api: ApiClient;
  kind: EntityKind;
  /** The entity being edited; absent for a creation. */
  initial?: Entity;
  /** Fields a creation starts with (e.g. `service` when adding a route from a service's page). */
  preset?: Entity;
  onSaved: (entity: Entity) => void;
  onCancel: () => void;
}

export function EntityEditor(props: EntityEditorProps) {
  const { api, kind } = props;
  const schemas = useResource(useCallback((signal: AbortSignal) => loadSchemas(api, kind, signal), [api, kind]));
  const info = KINDS[kind];
  const headingId = useId();
  const title = props.initial ? `Edit ${info.singular} ${entityLabel(kind, props.initial)}` : `New ${info.singular}`;
  return (
    <section className="card entity-editor" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {schemas.status === 'loading' && (
        <div className="skeleton" role="status" aria-label="Loading the form">
          <span />
          <span />
        </div>
      )}
      {schemas.status === 'error' && (
        <div className="error" role="alert">
          <p>Could not load the form: {schemas.error.message}</p>
          <button type="button" className="secondary" onClick={schemas.reload}>
            Retry
          </button>
        </div>
      )}
      {schemas.status === 'ready' && <EditorForm {...props} schemas={schemas.data} title={title} />}
    </section>
  );
}

function useNames(api: ApiClient, kind: EntityKind, wanted: boolean): string[] {
  const names = useResource(
    useCallback(
      async (signal: AbortSignal) => (wanted ? asPage(await api.get<Page<Entity> | Entity[]>(`/${kind}?limit=1000`, { signal })).data.map((e) => keyOf(kind, e)) : []),
      [api, kind, wanted],
    ),
  );
  return names.status === 'ready' ? names.data : [];
}

function EditorForm({ api, kind, initial, preset, onSaved, onCancel, schemas, title }: EntityEditorProps & { schemas: KindSchemas; title: string }) {
  const [value, setValue] = useState<unknown>(() => {
    if (initial) return structuredClone(initial);
    const start = defaultsOf(schemas.entity);
    return isPlainObject(start) ? { ...start, ...preset } : { ...preset };
  });
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [review, setReview] = useState<PendingChange | undefined>();

  const chosenPlugin = kind === 'plugins' && isPlainObject(value) && typeof value.name === 'string' ? value.name : undefined;
  const { schema, hidden } = useMemo(
    () => (kind === 'plugins' ? pluginInstanceSchema(schemas.entity, schemas.plugins ?? [], chosenPlugin) : { schema: schemas.entity, hidden: [] as string[] }),
    [kind, schemas, chosenPlugin],
  );

  const needsServices = kind === 'routes' || kind === 'plugins';
  const services = useNames(api, 'services', needsServices);
  const routes = useNames(api, 'routes', kind === 'plugins');
  const consumers = useNames(api, 'consumers', kind === 'plugins');
  const suggestions = useMemo(() => ({ '/service': services, '/route': routes, '/consumer': consumers }), [services, routes, consumers]);

  function change(next: unknown) {
    // Choosing another plugin starts its settings from that plugin's defaults.
    if (kind === 'plugins' && isPlainObject(next) && isPlainObject(value) && next.name !== value.name) {
      const name = next.name;
      const plugin = schemas.plugins?.find((p) => p.name === name);
      next = { ...next, config: plugin ? (defaultsOf(plugin.schema) ?? {}) : {} };
    }
    setValue(next);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const after = prune(schema, value);
    const problems = validateValue(schema, after);
    setErrors(problems);
    if (problems.length > 0) return;
    const key = initial ? keyOf(kind, initial) : undefined;
    setReview({
      title: initial ? `Review: ${title}` : `Review: create ${KINDS[kind].singular}`,
      before: initial,
      after,
      applyLabel: initial ? 'Apply change' : `Create ${KINDS[kind].singular}`,
      apply: () => (key === undefined ? api.post<Entity>(apiPath(kind), { body: after }) : api.put<Entity>(apiPath(kind, key), { body: after })),
    });
  }

  return (
    <form noValidate onSubmit={submit}>
      <SchemaForm label={title} schema={schema} value={value} onChange={change} errors={errors} hidden={hidden} suggestions={suggestions} />
      <div className="actions form-actions">
        <button type="submit">Review and save</button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {review && (
        <ChangeDialog
          change={review}
          onClose={() => setReview(undefined)}
          onFieldErrors={setErrors}
          onApplied={(result) => {
            setReview(undefined);
            onSaved((isPlainObject(result) ? result : review.after) as Entity);
          }}
        />
      )}
    </form>
  );
}
