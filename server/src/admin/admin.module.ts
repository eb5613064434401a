/**
 * The admin plane's Nest module, built per app from the dependencies main.ts hands over (store, runtime,
 * env, logger, plugins) as custom providers under symbol tokens.
 */
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { THROTTLERS, throttleMessage } from './common/throttles.js';
import type { GatewayRuntime } from '../runtime/gateway-runtime.js';
import type { ConfigStore } from '../store/config-store.js';
import {
  ADMIN_ENV,
  ADMIN_LOGGER,
  ADMIN_PLUGINS,
  ADMIN_RUNTIME,
  ADMIN_STORE,
  AUTH_SETTINGS,
  type AdminEnv,
  type AdminLogger,
  type AuthSettings,
  type PluginRegistry,
} from './admin-env.js';
import { AdminUsersController } from './auth/admin-users.controller.js';
import { AuthController } from './auth/auth.controller.js';
import { AdminAuthGuard } from './auth/auth.guard.js';
import { AuthService } from './auth/auth.service.js';
import { createJwtStrategy } from './auth/jwt.strategy.js';
import { RolesGuard } from './auth/roles.guard.js';
import { ConfigWriter } from './common/config-writer.service.js';
import { DASHBOARD_INDEX, ProblemFilter } from './common/problem.filter.js';
import { ConfigController } from './config/config.controller.js';
import { ConfigService } from './config/config.service.js';
import { ENTITY_CONTROLLERS } from './entities/entities.controller.js';
import { EntitiesService } from './entities/entities.service.js';
import { CredentialsController } from './credentials/credentials.controller.js';
import { CredentialsService } from './credentials/credentials.service.js';
import { CertificatesController } from './certificates/certificates.controller.js';
import { CertificatesService } from './certificates/certificates.service.js';
import { ApplicationsService } from './developers/applications.service.js';
import { DevelopersController, MyApisController, MyApplicationsController } from './developers/developers.controller.js';
import { ApisService, OPENAPI_DOCUMENTS } from './developers/apis.service.js';
import { OpenApiDocuments } from './developers/openapi-documents.js';
import { UsageService } from './developers/usage.service.js';
import { DEVELOPER_SETTINGS, developerSettingsFromEnv, DevelopersService } from './developers/developers.service.js';
import { NestedController } from './entities/nested.controller.js';
import { OpenApiController } from './openapi/openapi.controller.js';
import { SystemController } from './system/system.controller.js';
import { SystemService } from './system/system.service.js';
import { AdminEventBus } from './resilience/event-bus.js';
import { EventsController } from './resilience/events.controller.js';
import { MetricsController, metricsPublicFromEnv, PublicMetricsController } from './resilience/metrics.controller.js';
import { ResilienceController } from './resilience/resilience.controller.js';
import { ResilienceService } from './resilience/resilience.service.js';
import { TrafficController } from './traffic/traffic.controller.js';
import { TrafficService } from './traffic/traffic.service.js';
import { RecentErrorsController } from './recent-errors/recent-errors.controller.js';
import { RecentErrorsService } from './recent-errors/recent-errors.service.js';
import { AuditController } from './audit/audit.controller.js';
import { AuditInterceptor } from './audit/audit.interceptor.js';
import type { LiveHub } from '../observability/live-hub.js';
import { LIVE_HUB } from './live/live-hub.token.js';
import { ADMIN_DISCOVERY, DiscoveryController } from '../discovery/admin.js';
import type { DiscoveryView } from '../discovery/types.js';
import { ImportController } from './import/import.controller.js';
import { ImportService } from './import/import.service.js';
import { ADMIN_ACME, AcmeController } from '../tls/acme-admin.js';
import type { AcmeManager } from '../tls/acme.js';

export interface AdminModuleDeps {
  store: ConfigStore;
  runtime: GatewayRuntime;
  env: AdminEnv;
  logger: AdminLogger;
  plugins: PluginRegistry;
  auth: AuthSettings;
  /** Absolute path of the dashboard's index.html, when a build is served. */
  dashboardIndex: string | null;
  /** Login throttler storage (Redis when REDIS_URL is set); Nest's in-memory storage otherwise. */
  throttlerStorage?: ThrottlerStorage;
  /** The live stream's hub (per-second ticks, their history, per-consumer usage); provided as LIVE_HUB. */
  liveHub?: LiveHub;
  /** Service discovery state (discovery/registry.ts); provided as ADMIN_DISCOVERY, null when the node runs none. */
  discovery?: DiscoveryView;
  /** Automatic certificates (tls/acme.ts); provided as ADMIN_ACME, null when ACME is off. */
  acme?: Pick<AcmeManager, 'status'>;
}

/** Login attempts allowed per client IP and window. */
export { LOGIN_LIMIT } from './common/throttles.js';

@Module({})
export class AdminModule {
  static register(deps: AdminModuleDeps): DynamicModule {
    const values: Provider[] = [
      { provide: ADMIN_STORE, useValue: deps.store },
      { provide: ADMIN_RUNTIME, useValue: deps.runtime },
      { provide: ADMIN_ENV, useValue: deps.env },
      { provide: ADMIN_LOGGER, useValue: deps.logger },
      { provide: ADMIN_PLUGINS, useValue: deps.plugins },
      { provide: AUTH_SETTINGS, useValue: deps.auth },
      { provide: DASHBOARD_INDEX, useValue: deps.dashboardIndex },
      { provide: LIVE_HUB, useValue: deps.liveHub ?? null },
      { provide: ADMIN_DISCOVERY, useValue: deps.discovery ?? null },
      { provide: ADMIN_ACME, useValue: deps.acme ?? null },
    ];
    return {
      module: AdminModule,
      imports: [PassportModule, JwtModule.register({}), ThrottlerModule.forRoot({ throttlers: THROTTLERS, errorMessage: throttleMessage, ...(deps.throttlerStorage ? { storage: deps.throttlerStorage } : {}) })],
      controllers: [AuthController, AdminUsersController, ...ENTITY_CONTROLLERS, CredentialsController, CertificatesController, DevelopersController, MyApplicationsController, MyApisController, NestedController, ConfigController, SystemController, OpenApiController,
        ResilienceController, TrafficController, RecentErrorsController, EventsController, AuditController, DiscoveryController, ImportController, AcmeController, metricsPublicFromEnv() ? PublicMetricsController : MetricsController],
      providers: [
        ...values,
        createJwtStrategy(deps.auth.strategyName),
        AuthService,
        ConfigWriter,
        EntitiesService,
        CredentialsService,
        CertificatesService,
        DevelopersService,
        ApplicationsService,
        UsageService,
        ApisService,
        // One per admin app: the OpenAPI documents services point at, fetched and cached for every developer.
        { provide: OPENAPI_DOCUMENTS, useValue: new OpenApiDocuments() },
        // Read once when the admin app is built (process start), as the other GATEHOUSE_* settings.
        { provide: DEVELOPER_SETTINGS, useValue: developerSettingsFromEnv() },
        ConfigService,
        ImportService,
        SystemService,
        AdminEventBus,
        ResilienceService,
        TrafficService,
        RecentErrorsService,
        // Order matters: authentication puts the caller on the request, then roles are checked.
        { provide: APP_GUARD, useClass: AdminAuthGuard },
        { provide: APP_GUARD, useClass: RolesGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        // Every admin change into the audit log (admin/audit/).
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
      ],
    };
  }
}
