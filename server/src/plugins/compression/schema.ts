/**
 * Config of compression: gzip and brotli for upstream responses, negotiated with Accept-Encoding.
 */
import { Type, type Static } from '@sinclair/typebox';

export const DEFAULT_COMPRESSIBLE_TYPES = [
  'text/*',
  'application/json',
  'application/javascript',
  'application/x-javascript',
  'application/xml',
  'application/wasm',
  'image/svg+xml',
  'image/x-icon',
  'font/ttf',
  'font/otf',
  '*/*+json',
  '*/*+xml',
];

export const CompressionSchema = Type.Object(
  {
    encodings: Type.Array(Type.Union([Type.Literal('br'), Type.Literal('gzip')]), {
      default: ['br', 'gzip'],
      minItems: 1,
      maxItems: 2,
      uniqueItems: true,
      description: 'Encodings offered, in order of preference when the client accepts several with the same q-value.',
    }),
    types: Type.Array(Type.String({ minLength: 3, maxLength: 256, pattern: '^[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*/[A-Za-z0-9!#$&^_.+*-]+$' }), {
      default: DEFAULT_COMPRESSIBLE_TYPES,
      maxItems: 256,
      description:
        'Media types compressed: exact (`application/json`), a whole type (`text/*`) or a structured suffix (`*/*+json`). text/event-stream is never compressed (it would hold events back).',
    }),
    min_length: Type.Integer({
      minimum: 0,
      maximum: 1_073_741_824,
      default: 1024,
      description: 'Responses whose Content-Length is below this many bytes are sent as they are (compressing them saves too little). Responses of unknown length are compressed.',
    }),
    gzip_level: Type.Integer({ minimum: 1, maximum: 9, default: 6, description: 'gzip compression level (1 fastest, 9 smallest).' }),
    brotli_quality: Type.Integer({
      minimum: 0,
      maximum: 11,
      default: 4,
      description: 'Brotli quality (0 fastest, 11 smallest; 11 is far too slow for on-the-fly use). 4 compresses about like gzip 6, faster.',
    }),
  },
  { additionalProperties: false, description: 'Compresses upstream responses with gzip or brotli when the client accepts it.' },
);
export type CompressionConfig = Static<typeof CompressionSchema>;
