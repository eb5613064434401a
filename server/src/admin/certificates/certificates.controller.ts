/** `/certificates`: TLS certificates of the HTTPS listener. Writes need the operator role; keys are never returned. */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put } from '@nestjs/common';
import { Roles } from '../auth/roles.decorator.js';
import { CurrentUser, type AdminPrincipal } from '../common/current-user.js';
import type { CertificateView } from './certificates.dto.js';
import { CertificatesService } from './certificates.service.js';

@Controller('certificates')
export class CertificatesController {
  constructor(@Inject(CertificatesService) private readonly certificates: CertificatesService) {}

  @Get()
  async list(): Promise<{ data: CertificateView[] }> {
    return { data: await this.certificates.list() };
  }

  @Post() @Roles('operator')
  create(@Body() body: unknown, @CurrentUser() user: AdminPrincipal): Promise<CertificateView> {
    return this.certificates.create(body, user);
  }

  @Get(':name')
  get(@Param('name') name: string): Promise<CertificateView> {
    return this.certificates.get(name);
  }

  @Put(':name') @Roles('operator')
  replace(@Param('name') name: string, @Body() body: unknown, @CurrentUser() user: AdminPrincipal): Promise<CertificateView> {
    return this.certificates.replace(name, body, user);
  }

  @Delete(':name') @Roles('operator') @HttpCode(204)
  remove(@Param('name') name: string, @CurrentUser() user: AdminPrincipal): Promise<void> {
    return this.certificates.remove(name, user);
  }
}
