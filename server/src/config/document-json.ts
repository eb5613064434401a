/**
 * The JSON text of a document, kept beside it: a config store makes its head document and the text it
 * writes as the version together (storedDocument), and the proxy worker is sent that text instead of
 * the object. Posting a 10,000-route document as an object cost the admin thread 30–45 ms of structured
 * cloning per apply; posting text it already has costs about 1 ms (the worker parses it, on its own
 * core). Documents without a kept text go as objects: one from a YAML file can hold what JSON cannot
 * (`.inf` in a field of unknown type), and the clone keeps it.
 */
const texts = new WeakMap<object, string>();

/** Records that `text` is the JSON of `doc`: `JSON.parse(text)` gives an equal document with the same key order. */
export function withJson<T extends object>(doc: T, text: string): T {
  texts.set(doc, text);
  return doc;
}

/** The text `doc` was parsed from, when one was kept. */
export function knownJson(doc: object): string | undefined {
  return texts.get(doc);
}
