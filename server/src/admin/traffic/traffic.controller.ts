/**
 * `/shadow`: traffic-split and mirror counters of this node's data plane, and `/shadow/samples`, the
 * shadow-comparison records (read: viewer; clear: operator).
 */
import { Controller, Delete, Get, Query } from '@nestjs/common';
import type { ShadowSample } from '../../proxy/resilience-view.js';
import type { TrafficView } from '../../traffic/index.js';
import { Roles } from '../auth/roles.decorator.js';
import type { RawQuery } from '../entities/entities.dto.js';
import { TrafficService } from './traffic.service.js';

@Controller()
export class TrafficController {
  constructor(private readonly traffic: TrafficService) {}

  @Get('shadow')
  view(): Promise<TrafficView> { return this.traffic.view(); }

  @Get('shadow/samples')
  samples(@Query() query: RawQuery): Promise<{ data: ShadowSample[] }> { return this.traffic.samples(query); }

  @Delete('shadow/samples') @Roles('operator')
  clear(@Query() query: RawQuery): Promise<{ cleared: number }> { return this.traffic.clear(query); }
}
