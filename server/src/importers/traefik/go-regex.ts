/**
 * Traefik's regular expressions are Go's (RE2); Gatehouse's are JavaScript's. Most of the syntax is
 * shared; this rewrites the parts that differ (named groups, leading flags, \A and \z, POSIX classes)
 * and refuses what has no JavaScript equivalent, so an imported pattern never means something else.
 */

export class RegexConversionError extends Error {
  override name = 'RegexConversionError';
}

const POSIX: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\t\\n\\v\\f\\r ',
  blank: '\\t ',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
};

/** Converts a Go regular expression to JavaScript source; throws RegexConversionError when it cannot. */
export function goRegexToJs(source: string): string {
  let re = source;
  let flags = '';
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(re);
  if (lead) {
    flags = lead[1]!;
    if (!/^[ims]+$/.test(flags)) throw new RegexConversionError(`flag group '(?${flags})' has no JavaScript equivalent`);
    re = re.slice(lead[0].length);
  }
  if (/\(\?[a-zA-Z]*\)/.test(re)) throw new RegexConversionError('flag groups are only converted at the start of the pattern');
  if (re.includes('\\Q')) throw new RegexConversionError('\\Q…\\E quoting has no JavaScript equivalent');
  if (/\\[pP]\{/.test(re)) throw new RegexConversionError('Unicode classes (\\p{…}) are not converted');
  re = re.replace(/\(\?P</g, '(?<');
  re = re.replace(/\[:(\^?)([a-z]+):\]/g, (m, neg: string, name: string) => {
    const cls = POSIX[name];
    if (cls === undefined || neg) throw new RegexConversionError(`POSIX class '${m}' is not converted`);
    return cls;
  });
  re = replaceEscape(re, 'A', '^');
  re = replaceEscape(re, 'z', '$');
  if (flags) re = `(?${flags}:${re})`;
  try {
    new RegExp(re);
  } catch (e) {
    throw new RegexConversionError(`not a valid regular expression: ${(e as Error).message}`);
  }
  return re;
}

/** Replaces `\X` (an unescaped backslash followed by X) with `to`. */
function replaceEscape(re: string, x: string, to: string): string {
  let out = '';
  for (let i = 0; i < re.length; i++) {
    if (re[i] === '\\') {
      if (re[i + 1] === x) out += to;
      else out += re[i]! + (re[i + 1] ?? '');
      i++;
    } else out += re[i];
  }
  return out;
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Traefik v2 path and host templates: `/users/{id:[0-9]+}` or `{sub}.example.com`. Returns the regex
 * source (not anchored) and whether the text held a template at all.
 */
export function v2TemplateToRegex(text: string, defaultPart: string): { regex: string; template: boolean } {
  let out = '';
  let template = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '{') {
      out += escapeRegex(c);
      i++;
      continue;
    }
    let depth = 0;
    let j = i;
    for (; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) break;
    }
    if (j >= text.length) throw new RegexConversionError(`unbalanced '{' in '${text}'`);
    const inner = text.slice(i + 1, j);
    const colon = inner.indexOf(':');
    const name = colon === -1 ? inner : inner.slice(0, colon);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RegexConversionError(`'{${inner}}' is not a template variable`);
    const part = colon === -1 ? defaultPart : goRegexToJs(inner.slice(colon + 1));
    out += `(?<${name}>${part})`;
    template = true;
    i = j + 1;
  }
  return { regex: out, template };
}
