// Prisma CLI configuration (Prisma 7 reads it instead of datasource URLs in the schema); used by
// `npm run generate` in server/. The gateway applies migrations itself, so no datasource URL is needed here.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
});
