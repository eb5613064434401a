/**
 * SchemaForm against the gateway's real schemas (recorded from GET /schemas/:kind and
 * GET /plugins-available): defaults, help text, required marks, enums, nested objects, arrays, maps,
 * unions, the JSON tab, and errors placed on the field their JSON Pointer names.
 */
import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import type { FieldError } from '../../lib/api-client';
import { PLUGINS_AVAILABLE, ROUTES_SCHEMA, SERVICES_SCHEMA, UPSTREAMS_SCHEMA } from '../../features/config/test-fixtures';
import { defaultsOf, prune, validateValue, type JsonSchema } from './json-schema';
import { SchemaForm } from './schema-form';

function plugin(name: string): JsonSchema {
  return PLUGINS_AVAILABLE.data.find((p) => p.name === name)!.schema;
}

/** Holds the value like a real editor does and exposes the latest one to the test. */
function renderForm(schema: JsonSchema, initial: unknown = defaultsOf(schema), errors: FieldError[] = []) {
  const latest: { value: unknown } = { value: initial };
  function Harness() {
    const [value, setValue] = useState<unknown>(initial);
    latest.value = value;
    return <SchemaForm label="Test form" schema={schema} value={value} onChange={setValue} errors={errors} />;
  }
  render(<Harness />);
  return latest;
}

function describedText(el: HTMLElement): string {
  return (el.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .filter(Boolean)
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' | ');
}

describe('defaultsOf', () => {
  it('fills defaults, nested objects with defaults, and leaves optional fields without one absent', () => {
    const v = defaultsOf(SERVICES_SCHEMA) as Record<string, unknown>;
    expect(v).toEqual({
      connect_timeout: 5000,
      write_timeout: 60000,
      read_timeout: 60000,
      retries: 0,
      retry_on_statuses: [],
      retry_budget: { ratio: 0.2, min_per_second: 10 },
      enabled: true,
      tags: [],
    });
    expect('url' in v).toBe(false);
    expect(defaultsOf(plugin('response-headers'))).toEqual({ add: {}, set: {}, remove: [] });
  });
});

describe('SchemaForm', () => {
  it('shows defaults, marks required fields, and ties descriptions to inputs as help text', () => {
    renderForm(SERVICES_SCHEMA);
    const name = screen.getByLabelText(/^Name/);
    expect(name.closest('.sf-field')!.querySelector('label')!.textContent).toBe('Name *');
    expect((name as HTMLInputElement).required).toBe(true);
    expect(describedText(name)).toBe('Unique name of the service.');
    const connect = screen.getByLabelText('Connect timeout') as HTMLInputElement;
    expect(connect.value).toBe('5000');
    expect(connect.required).toBe(false);
    expect(describedText(connect)).toContain('Time allowed to open a connection to a target before answering 504 (milliseconds).');
    expect(describedText(connect)).toContain('Default: 5000.');
    expect((screen.getByLabelText('Enabled') as HTMLInputElement).checked).toBe(true);
  });

  it('renders unions of literals as a select and keeps the chosen value', async () => {
    const latest = renderForm(UPSTREAMS_SCHEMA);
    const algorithm = screen.getByLabelText('Algorithm') as HTMLSelectElement;
    expect([...algorithm.options].map((o) => o.textContent)).toEqual(['Default (round-robin)', 'round-robin', 'weighted-round-robin', 'least-connections', 'consistent-hashing']);
    expect(algorithm.selectedOptions[0]!.textContent).toBe('round-robin');
    await userEvent.selectOptions(algorithm, 'least-connections');
    expect((latest.value as Record<string, unknown>).algorithm).toBe('least-connections');
  });

  it('lets an optional enum without a default go back to "not set"', async () => {
    const latest = renderForm(SERVICES_SCHEMA);
    const protocol = screen.getByLabelText('Protocol') as HTMLSelectElement;
    expect([...protocol.options].map((o) => o.textContent)).toEqual(['Not set', 'http', 'https']);
    await userEvent.selectOptions(protocol, 'https');
    expect((latest.value as Record<string, unknown>).protocol).toBe('https');
    await userEvent.selectOptions(protocol, 'Not set');
    expect('protocol' in (latest.value as object)).toBe(false);
  });

  it('edits nested objects, optional nested objects and lists of objects', async () => {
    const latest = renderForm(UPSTREAMS_SCHEMA, { name: 'pool', targets: [] });
    type Upstream = { targets: { target?: string }[]; healthchecks?: { active: { enabled: boolean; healthy: { successes: number } } } };
    const value = () => latest.value as Upstream;
    await userEvent.click(screen.getByRole('button', { name: 'Add targets' }));
    expect(value().targets).toEqual([{ weight: 100, tags: [] }]);
    const target = within(screen.getByRole('group', { name: 'Targets 1' }));
    await userEvent.type(target.getByLabelText(/^Target/), '10.0.0.1:80');
    expect(value().targets[0]!.target).toBe('10.0.0.1:80');

    expect(value().healthchecks).toBeUndefined();
    await userEvent.click(screen.getByRole('button', { name: 'Set healthchecks' }));
    expect(value().healthchecks!.active.healthy.successes).toBe(2);
    const active = within(screen.getByRole('group', { name: 'Active' }));
    await userEvent.click(active.getByLabelText('Enabled'));
    expect(value().healthchecks!.active.enabled).toBe(true);
    await userEvent.click(screen.getByRole('button', { name: 'Remove healthchecks' }));
    expect(value().healthchecks).toBeUndefined();
  });

  it('edits lists of scalars and lists of allowed values', async () => {
    const latest = renderForm(ROUTES_SCHEMA);
    const value = () => latest.value as { paths: string[]; methods: string[] };
    await userEvent.click(screen.getByRole('button', { name: 'Add paths' }));
    await userEvent.type(screen.getByLabelText('Paths 1'), '/orders');
    await userEvent.click(screen.getByRole('button', { name: 'Add paths' }));
    await userEvent.type(screen.getByLabelText('Paths 2'), '=/me');
    expect(value().paths).toEqual(['/orders', '=/me']);
    await userEvent.click(screen.getByRole('button', { name: 'Remove Paths 1' }));
    expect(value().paths).toEqual(['=/me']);

    const methods = within(screen.getByRole('group', { name: 'Methods' }));
    await userEvent.click(methods.getByLabelText('POST'));
    await userEvent.click(methods.getByLabelText('GET'));
    expect(value().methods).toEqual(['GET', 'POST']);
    expect((within(screen.getByRole('group', { name: 'Protocols' })).getByLabelText('https') as HTMLInputElement).checked).toBe(true);
  });

  it('edits records as name/value rows', async () => {
    const headers = renderForm(plugin('response-headers'));
    await userEvent.click(within(screen.getByRole('group', { name: 'Set' })).getByRole('button', { name: 'Add entry' }));
    await userEvent.type(screen.getByLabelText('Set 1 name'), 'X-Frame-Options');
    await userEvent.type(screen.getByLabelText('Set 1 value'), 'DENY');
    expect((headers.value as Record<string, unknown>).set).toEqual({ 'X-Frame-Options': 'DENY' });
  });

  it('offers the alternatives of an anyOf of different shapes', async () => {
    const latest = renderForm(plugin('request-validator'), {});
    const kind = screen.getByLabelText('Kind of value') as HTMLSelectElement;
    expect([...kind.options].map((o) => o.textContent)).toEqual(['Text', 'Object']);
    await userEvent.type(screen.getByLabelText('Openapi (text)'), 'openapi: 3.1.0');
    expect((latest.value as Record<string, unknown>).openapi).toBe('openapi: 3.1.0');
    await userEvent.selectOptions(kind, 'Object');
    expect(screen.getByRole('group', { name: 'Openapi (object)' })).toBeTruthy();
  });

  it('edits the same value as JSON text, keeping text that does not parse yet', async () => {
    const latest = renderForm(SERVICES_SCHEMA, { name: 'a' });
    await userEvent.click(screen.getByRole('tab', { name: 'JSON' }));
    const text = screen.getByLabelText('Test form as JSON') as HTMLTextAreaElement;
    fireEvent.change(text, { target: { value: '{"name": "b", "port":' } });
    expect(latest.value).toEqual({ name: 'a' });
    expect(describedText(text)).toContain('Not valid JSON yet');
    fireEvent.change(text, { target: { value: '{"name": "b", "port": 8080}' } });
    expect(latest.value).toEqual({ name: 'b', port: 8080 });
    await userEvent.click(screen.getByRole('tab', { name: 'Form' }));
    expect((screen.getByLabelText('Port') as HTMLInputElement).value).toBe('8080');
  });

  it('shows server errors on the field their pointer names, and the rest in a summary', () => {
    renderForm(ROUTES_SCHEMA, { name: 'r', service: 'ghost', paths: ['/a', 'b'], methods: [] }, [
      { path: '/service', message: "service 'ghost' does not exist" },
      { path: '/paths/1', message: 'a path must start with `/`, `=/` or `~`' },
      { path: '/', message: 'needs something the form has no field for' },
      { path: '/bogus', message: 'Unexpected property' },
    ]);
    const service = screen.getByLabelText('Service');
    expect(service.getAttribute('aria-invalid')).toBe('true');
    expect(describedText(service)).toContain("service 'ghost' does not exist");
    const paths = screen.getByRole('group', { name: 'Paths' });
    expect(paths.getAttribute('aria-invalid')).toBe('true');
    expect(describedText(paths)).toContain('1: a path must start with `/`, `=/` or `~`');
    const summary = screen.getByRole('alert');
    expect(summary.textContent).toContain('4 problems to fix before saving (2 fields marked below)');
    expect(summary.textContent).toContain('needs something the form has no field for');
    expect(summary.textContent).toContain('/bogus Unexpected property');
    expect(summary.textContent).not.toContain('ghost');
    expect(screen.getByLabelText(/^Name/).getAttribute('aria-invalid')).toBeNull();
  });

  it('places plugin config errors under /config on the plugin field', () => {
    const schema: JsonSchema = { type: 'object', required: ['name', 'config'], properties: { name: { type: 'string' }, config: plugin('rate-limiting') } };
    renderForm(schema, { name: 'rate-limiting', config: defaultsOf(plugin('rate-limiting')) }, [{ path: '/config/minute', message: 'Expected integer to be greater or equal to 1' }]);
    const minute = within(screen.getByRole('group', { name: /^Config/ })).getByLabelText('Minute');
    expect(describedText(minute)).toContain('Expected integer to be greater or equal to 1');
  });
});

describe('validateValue (client-side checks)', () => {
  it('reports required, pattern, range and list problems at JSON Pointers', () => {
    const route = prune(ROUTES_SCHEMA, { name: '', service: '', priority: 5000, methods: ['GET', 'GET'], paths: [''], hosts: ['bad host'] });
    expect(validateValue(ROUTES_SCHEMA, route)).toEqual([
      { path: '/name', message: 'Required' },
      { path: '/hosts/0', message: expect.stringContaining('Must match the pattern') },
      { path: '/paths/0', message: 'Must not be empty' },
      { path: '/priority', message: 'Must be at most 1000' },
    ]);
    expect(validateValue(SERVICES_SCHEMA, prune(SERVICES_SCHEMA, defaultsOf(SERVICES_SCHEMA)))).toEqual([{ path: '/name', message: 'Required' }]);
    expect(validateValue(plugin('rate-limiting'), { ...(defaultsOf(plugin('rate-limiting')) as object), limit_by: [] })).toContainEqual({ path: '/limit_by', message: 'Needs at least 1 item' });
  });
});
