/**
 * The one exception filter of the admin API: every error leaves as `application/problem+json`, and a
 * browser navigation that matches no API route gets the dashboard's index.html (SPA fallback).
 */
import { Catch, Inject, NotFoundException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE } from '../../errors/registry.js';
import { ADMIN_LOGGER, type AdminLogger } from '../admin-env.js';
import { toProblem } from './to-problem.js';

/** The dashboard build's directory when one is served; the filter then answers HTML navigations with its index.html. */
export const DASHBOARD_INDEX = Symbol('DASHBOARD_INDEX');

@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(
    @Inject(ADMIN_LOGGER) private readonly logger: AdminLogger,
    @Inject(DASHBOARD_INDEX) private readonly dashboardIndex: string | null,
  ) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    if (err instanceof NotFoundException && this.isNavigation(req) && this.dashboardIndex !== null) {
      void reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').sendFile('index.html', this.dashboardIndex);
      return;
    }
    const path = req.url.split('?')[0] ?? req.url;
    const { problem, unexpected } = toProblem(err, path);
    if (unexpected) this.logger.error({ err, method: req.method, path }, 'admin API request failed');
    if (problem.status === 401) void reply.header('www-authenticate', 'Bearer realm="gatehouse-admin"');
    void reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }

  /** Only a browser loading a page: API clients (JSON, or curl's any-type Accept) still get problem+json. */
  private isNavigation(req: FastifyRequest): boolean {
    return (req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html');
  }
}
