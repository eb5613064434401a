/** `POST /config/import/:format`: another gateway's file in, a Gatehouse document and a report out (nothing applied). */
import { Body, Controller, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Roles } from '../auth/roles.decorator.js';
import type { ImportResultDto } from './import.dto.js';
import { ImportService } from './import.service.js';

@Controller()
export class ImportController {
  constructor(private readonly imports: ImportService) {}

  // Operator, though it writes nothing: with Kong keys in the file, the answer carries them hashed under the cluster pepper.
  @Post('config/import/:format') @HttpCode(200) @Roles('operator')
  convert(@Param('format') format: string, @Body() body: unknown, @Query('filename') filename: string | undefined): Promise<ImportResultDto> {
    return this.imports.convert(format, body, filename);
  }
}
