/**
 * The JSON text a document was made from, kept beside it: a config store parses its head document from
 * the text it also writes as the version, and the proxy worker is sent documents as JSON text. Posting a
 * 10,000-route document as an object cost the admin thread 30–45 ms of structured cloning per apply;
 * posting text it already has costs about 1 ms (the worker parses it, on its own core).
 */
const texts = new WeakMap<object, string>();

/** Records that `text` is the JSON of `doc`: `JSON.parse(text)` gives an equal document with the same key order. */
export function withJson<T extends object>(doc: T, text: string): T {
  texts.set(doc, text);
  return doc;
}

/** `doc` as JSON: the text it was parsed from when known, else stringified now. */
export function jsonOf(doc: object): string {
  return texts.get(doc) ?? JSON.stringify(doc);
}
