/**
 * Serves the OpenAPI document and the human-readable docs page; both public, like any API reference.
 */
import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../auth/roles.decorator.js';
import { GATEHOUSE_VERSION } from '../../version.js';
import { buildOpenApi } from './openapi.builder.js';
import { DOCS_CSP, DOCS_PAGE } from './docs-page.js';

@Controller()
@Public()
export class OpenApiController {
  private readonly document = buildOpenApi({ version: GATEHOUSE_VERSION });

  @Get('openapi.json')
  openapi(): Record<string, unknown> { return this.document; }

  @Get('docs') @Header('content-type', 'text/html; charset=utf-8') @Header('content-security-policy', DOCS_CSP)
  docs(): string { return DOCS_PAGE; }
}
