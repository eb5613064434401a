/**
 * The dashboard's router: history-API navigation under `/ui/`, a hook for the current location and a
 * link that navigates without reloading.
 *
 * Pages live under `/ui/` because the admin API owns the root paths (`/services`, `/routes`, …): a
 * reload of `/ui/services` is a navigation no API route matches, which the admin listener answers with
 * the dashboard's index.html (admin/common/problem.filter.ts). Ten lines of matching are all the
 * dashboard needs, so there is no router dependency.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

export const UI_PREFIX = '/ui';

const CHANGE = 'gatehouse:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(CHANGE, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(CHANGE, onChange);
  };
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

/** The current path and query, e.g. `/ui/services?q=web`; re-renders the caller on every navigation. */
export function useLocation(): string {
  return useSyncExternalStore(subscribe, snapshot, () => '/');
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(CHANGE));
}

/** The query parameters of a location from useLocation(). */
export function queryOf(location: string): URLSearchParams {
  const i = location.indexOf('?');
  return new URLSearchParams(i === -1 ? '' : location.slice(i + 1));
}

/** Replaces one query parameter (removes it when empty) without adding a history entry: search boxes, tabs. */
export function setQueryParam(name: string, value: string): void {
  const params = new URLSearchParams(window.location.search);
  if (value) params.set(name, value);
  else params.delete(name);
  const qs = params.toString();
  navigate(window.location.pathname + (qs ? `?${qs}` : ''), { replace: true });
}

export type Params = Record<string, string>;

/**
 * Matches `/ui/services/:name` against a path; segments are compared decoded, so entity names with
 * reserved characters round-trip through pathTo().
 */
export function matchPath(pattern: string, location: string): Params | undefined {
  const q = location.indexOf('?');
  const path = (q === -1 ? location : location.slice(0, q)).replace(/\/+$/, '') || '/';
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    let g: string;
    try {
      g = decodeURIComponent(got[i]!);
    } catch {
      return undefined;
    }
    if (w.startsWith(':')) {
      if (g === '') return undefined;
      params[w.slice(1)] = g;
    } else if (w !== g) return undefined;
  }
  return params;
}

/** Builds a path from a pattern, encoding each parameter: pathTo('/ui/services/:name', { name: 'a b' }). */
export function pathTo(pattern: string, params: Params = {}): string {
  return pattern.replace(/:([A-Za-z_]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`pathTo(${pattern}): missing parameter ${name}`);
    return encodeURIComponent(value);
  });
}

export interface LinkProps extends Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> {
  to: string;
  children: ReactNode;
}

/** An anchor that navigates in-app on a plain click and lets the browser handle new-tab clicks. */
export function Link({ to, children, onClick, ...rest }: LinkProps) {
  function click(event: MouseEvent<HTMLAnchorElement>) {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  }
  return (
    <a href={to} onClick={click} {...rest}>
      {children}
    </a>
  );
}
