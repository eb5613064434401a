/**
 * Response headers of the admin listener that limit what a browser lets a page do: the dashboard keeps
 * its admin token in sessionStorage, so script injected into it (XSS) is the one way left to steal it
 * (see "Why the dashboard is not exposed to CSRF" in the README). The Content-Security-Policy allows
 * scripts, styles and connections from the admin origin only (the Vite build has no inline script or
 * style; socket.io connects to the same origin), no plugins, no framing, no <base> rewrite.
 */
import { createHash } from 'node:crypto';

const BASE_POLICY = {
  'default-src': "'self'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data:",
  'connect-src': "'self'",
  'font-src': "'self'",
  'object-src': "'none'",
  'base-uri': "'none'",
  'form-action': "'self'",
  'frame-ancestors': "'none'",
} as const;

type Directive = keyof typeof BASE_POLICY;

function render(policy: Readonly<Record<Directive, string>>): string {
  return (Object.keys(policy) as Directive[]).map((d) => `${d} ${policy[d]}`).join('; ');
}

export const ADMIN_CSP = render(BASE_POLICY);

/** The CSP source of an inline `<script>` or `<style>` body: its SHA-256, as browsers hash it. */
export function inlineHash(body: string): string {
  return `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;
}

/** The admin policy with the given inline script and style bodies allowed by hash (a static page's own). */
export function cspWithInline(inline: { scripts?: readonly string[]; styles?: readonly string[] }): string {
  const scripts = (inline.scripts ?? []).map(inlineHash);
  const styles = (inline.styles ?? []).map(inlineHash);
  return render({
    ...BASE_POLICY,
    'script-src': [BASE_POLICY['script-src'], ...scripts].join(' '),
    'style-src': [BASE_POLICY['style-src'], ...styles].join(' '),
  });
}

/** Headers every admin response carries; a handler that set its own Content-Security-Policy keeps it. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};
