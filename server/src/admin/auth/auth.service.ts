/**
 * Logins, token issuing, admin users, and the first admin at start-up.
 */
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { GatewayError } from '../../errors/registry.js';
import { StoreConflictError, type AdminUserRecord, type ConfigStore } from '../../store/config-store.js';
import { ADMIN_ENV, ADMIN_LOGGER, ADMIN_STORE, AUTH_SETTINGS, type AdminEnv, type AdminLogger, type AuthSettings } from '../admin-env.js';
import { assertMayLogIn, effectiveRole } from '../developers/developer-accounts.js';
import type { AdminUserCreateDto, AdminUserDto, LoginDto, TokenDto } from './auth.dto.js';
import type { JwtClaims } from './jwt.strategy.js';
import { decoyHash, generatePassword, hashPassword, verifyPassword } from './password.js';

function toAdminUserDto(u: AdminUserRecord): AdminUserDto {
  return { id: u.id, username: u.username, role: u.role, created_at: u.created_at };
}

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  constructor(
    private readonly jwt: JwtService,
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_ENV) private readonly env: AdminEnv,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
    @Inject(ADMIN_LOGGER) private readonly logger: AdminLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.settings.jwtSecretGenerated) {
      this.logger.warn({}, 'GATEHOUSE_JWT_SECRET is not set and the store is read-only: using a random secret, so admin logins do not survive a restart');
    }
    await this.ensureFirstAdmin();
  }

  /** With no admin user at all, nobody could ever log in: create one from the env, or with a generated password. */
  private async ensureFirstAdmin(): Promise<void> {
    if ((await this.store.adminUsers.count()) > 0) return;
    if (this.env.adminUser && this.env.adminPassword) {
      if (await this.createFirst(this.env.adminUser, this.env.adminPassword)) {
        this.logger.info({ username: this.env.adminUser }, 'created the first admin user from GATEHOUSE_ADMIN_USER');
      }
      return;
    }
    const password = generatePassword();
    if (!(await this.createFirst('admin', password))) return;
    // Printed once, on purpose: it is the only way to learn it. Set GATEHOUSE_ADMIN_USER/PASSWORD to avoid this.
    this.logger.warn(
      { username: 'admin', generated_password: password },
      `created the first admin user 'admin' with the generated password ${password} (shown only once; change it by creating another admin)`,
    );
  }

  /** False when another node sharing the database created it first (they start together in a cluster). */
  private async createFirst(username: string, password: string): Promise<boolean> {
    try {
      await this.store.adminUsers.create({ username, password_hash: await hashPassword(password), role: 'admin' });
      return true;
    } catch (e) {
      if (e instanceof StoreConflictError) return false;
      throw e;
    }
  }

  async login(body: LoginDto): Promise<TokenDto> {
    const user = await this.store.adminUsers.find(body.username);
    // Verify against a decoy when the user is unknown, so the answer time doesn't reveal which names exist.
    const ok = await verifyPassword(body.password, user?.password_hash ?? (await decoyHash()));
    if (!user || !ok) throw new GatewayError('GW_ERR_ADMIN_UNAUTHORIZED', 'wrong user name or password');
    // Developer accounts: approval lives in their profile (admin/developers/); pending ones get 403, no token.
    const role = await effectiveRole(this.store, user);
    assertMayLogIn(role);
    const claims: JwtClaims = { sub: user.username, role };
    const access_token = await this.jwt.signAsync(claims, { secret: this.settings.jwtSecret, expiresIn: this.settings.tokenTtlSeconds });
    return { access_token, token_type: 'Bearer', expires_in: this.settings.tokenTtlSeconds, role };
  }

  async listUsers(): Promise<{ data: AdminUserDto[] }> {
    const list = this.store.adminUsers.list;
    if (!list) throw new GatewayError('GW_ERR_INTERNAL', 'this config store cannot list admin users');
    const users = await list.call(this.store.adminUsers);
    return { data: users.map(toAdminUserDto) };
  }

  async createUser(body: AdminUserCreateDto): Promise<AdminUserDto> {
    if (await this.store.adminUsers.find(body.username)) {
      throw new GatewayError('GW_ERR_ADMIN_CONFLICT', `admin user '${body.username}' already exists`);
    }
    const user = await this.store.adminUsers.create({ username: body.username, password_hash: await hashPassword(body.password), role: body.role });
    this.logger.info({ username: user.username, role: user.role }, 'admin user created');
    return toAdminUserDto(user);
  }
}
