/**
 * A page section bound to one admin API resource: a loading line, an error with Retry, or the content.
 * Every page uses it so loading and error states look and read the same everywhere.
 */
import type { ReactNode } from 'react';
import type { Page } from '../lib/api-client';
import type { ResourceState } from '../lib/use-resource';

export interface SectionProps<T> {
  title: string;
  state: ResourceState<T>;
  onRetry: () => void;
  children: (data: T) => ReactNode;
  /** Buttons shown beside the heading (Create, Refresh). */
  actions?: ReactNode;
  /** Heading level 1 for a page's main section; 2 otherwise. */
  level?: 1 | 2;
}

export function Section<T>({ title, state, onRetry, children, actions, level = 2 }: SectionProps<T>) {
  const id = `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  const Heading = level === 1 ? 'h1' : 'h2';
  return (
    <section className="card" aria-labelledby={id} aria-busy={state.status === 'loading'}>
      <div className="section-head">
        <Heading id={id}>{title}</Heading>
        {actions && <div className="actions">{actions}</div>}
      </div>
      {state.status === 'loading' && (
        <div className="skeleton" role="status" aria-label={`Loading ${title.toLowerCase()}`}>
          <span />
          <span />
          <span />
        </div>
      )}
      {state.status === 'error' && (
        <div className="error" role="alert">
          <p>
            Could not load {title.toLowerCase()}: {state.error.message}
          </p>
          <button type="button" className="secondary" onClick={onRetry}>
            Retry
          </button>
        </div>
      )}
      {state.status === 'ready' && children(state.data)}
    </section>
  );
}

/** "Showing 100 of 240 routes." under a list the server cut to one page. */
export function Truncation<T>({ page, noun }: { page: Page<T>; noun: string }) {
  if (page.total <= page.data.length) return null;
  return (
    <p className="muted">
      Showing {page.data.length} of {page.total} {noun}.
    </p>
  );
}

/** Lists are read as pages; an older server answering a bare array is accepted too. */
export function asPage<T>(body: Page<T> | T[]): Page<T> {
  return Array.isArray(body) ? { data: body, total: body.length, offset: 0, limit: body.length } : body;
}
