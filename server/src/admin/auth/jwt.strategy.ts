/**
 * The passport-jwt strategy that verifies login tokens. It is built per admin app under a unique name
 * because passport keeps strategies in one process-wide registry; a second app (tests, or a restart in
 * the same process) must not verify with the first one's secret or store.
 */
import { Inject, Injectable, type Type } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { ConfigStore } from '../../store/config-store.js';
import { ADMIN_STORE, AUTH_SETTINGS, type AuthSettings } from '../admin-env.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { effectiveRole } from '../developers/developer-accounts.js';

export interface JwtClaims {
  sub: string;
  role: string;
}

export function createJwtStrategy(strategyName: string): Type<unknown> {
  @Injectable()
  class JwtStrategy extends PassportStrategy(Strategy, strategyName) {
    constructor(
      @Inject(AUTH_SETTINGS) settings: AuthSettings,
      @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    ) {
      super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: settings.jwtSecret, algorithms: ['HS256'], ignoreExpiration: false });
    }

    /** The role comes from the store, not the token, so a removed user or a changed role applies at once. */
    async validate(claims: JwtClaims): Promise<AdminPrincipal | false> {
      const user = await this.store.adminUsers.find(claims.sub);
      if (!user) return false;
      return { username: user.username, role: await effectiveRole(this.store, user), via: 'jwt' };
    }
  }
  return JwtStrategy;
}
