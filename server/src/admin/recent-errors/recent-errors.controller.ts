/** `GET /errors`: the data plane's recent failed requests (viewer). */
import { Controller, Get, Query } from '@nestjs/common';
import type { RecentErrorsView } from '../../observability/recent-errors.js';
import type { RawQuery } from '../entities/entities.dto.js';
import { RecentErrorsService } from './recent-errors.service.js';

@Controller()
export class RecentErrorsController {
  constructor(private readonly errors: RecentErrorsService) {}

  @Get('errors')
  list(@Query() query: RawQuery): Promise<RecentErrorsView> { return this.errors.list(query); }
}
