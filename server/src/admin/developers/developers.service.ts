/**
 * Developer accounts, from the administrators' side and the public one: self sign-up, invitations,
 * approval and restriction, and the list. Accounts are admin_users rows; approval and allowed groups
 * live in the profile consumer (developer-accounts.ts), so they are versioned config writes.
 */
import { Inject, Injectable } from '@nestjs/common';
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../../errors/registry.js';
import { StoreConflictError, type AdminUserRecord, type ConfigStore, type Entity, type WriteMeta } from '../../store/config-store.js';
import { ADMIN_LOGGER, ADMIN_STORE, type AdminLogger } from '../admin-env.js';
import { hashPassword } from '../auth/password.js';
import { ConfigWriter } from '../common/config-writer.service.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { MAX_LIMIT } from '../entities/entities.dto.js';
import {
  APP_TAG,
  APPROVED_TAG,
  isDeveloperName,
  isDeveloperRole,
  ownerTag,
  PROFILE_TAG,
  profileName,
  readProfile,
} from './developer-accounts.js';
import type { AcceptInviteDto, DeveloperDto, InvitationCreateDto, RestrictDto, SignupDto } from './developers.dto.js';

/** Injection token of the portal's settings, read from the environment once when the admin app starts. */
export const DEVELOPER_SETTINGS = Symbol('DEVELOPER_SETTINGS');
export interface DeveloperSettings {
  /** GATEHOUSE_DEVELOPER_AUTO_APPROVE=true: sign-ups are approved at once (groups [] until restricted). */
  autoApprove: boolean;
}
export function developerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DeveloperSettings {
  const raw = (env.GATEHOUSE_DEVELOPER_AUTO_APPROVE ?? '').trim().toLowerCase();
  if (raw !== '' && !['true', 'false', '1', '0'].includes(raw)) {
    throw new Error(`GATEHOUSE_DEVELOPER_AUTO_APPROVE must be true or false, not '${env.GATEHOUSE_DEVELOPER_AUTO_APPROVE}'`);
  }
  return { autoApprove: raw === 'true' || raw === '1' };
}

const INVITE_PREFIX = 'gdi_';
const INVITE_TOKEN = /^gdi_([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})$/;
/** Settings keys (the store's settings are write-once: the first writer wins, values never change). */
const INVITE_MAC_KEY = 'developer-invite-mac-key';
const inviteKey = (tokenHash: string) => `developer-invite:${tokenHash}`;
const inviteUsedKey = (tokenHash: string) => `developer-invite-used:${tokenHash}`;
const emailKey = (username: string) => `developer-email:${username}`;

interface InviteRecord {
  username: string;
  expires_at: string;
  groups: string[];
  invited_by: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

@Injectable()
export class DevelopersService {
  private macKey: Promise<Buffer> | undefined;

  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_LOGGER) private readonly logger: AdminLogger,
    @Inject(ConfigWriter) private readonly writer: ConfigWriter,
    @Inject(DEVELOPER_SETTINGS) private readonly settings: DeveloperSettings,
  ) {}

  /** Account writes make no sense when configuration writes are refused (DB-less mode): a developer could do nothing. */
  private assertWritable(): void {
    if (this.writer.readOnly) throw new GatewayError('GW_ERR_ADMIN_READ_ONLY');
  }

  async signup(body: SignupDto): Promise<{ username: string; status: 'pending' | 'approved' }> {
    this.assertWritable();
    const role: AdminUserRecord['role'] = this.settings.autoApprove ? 'developer' : 'developer-pending';
    await this.createAccount(body.username, body.password, role);
    await this.store.setting(emailKey(body.username), () => body.email ?? '');
    this.logger.info({ username: body.username, status: role === 'developer' ? 'approved' : 'pending' }, 'developer signed up');
    return { username: body.username, status: role === 'developer' ? 'approved' : 'pending' };
  }

  private async createAccount(username: string, password: string, role: AdminUserRecord['role']): Promise<void> {
    if (await this.store.adminUsers.find(username)) throw new GatewayError('GW_ERR_ADMIN_CONFLICT', `the user name '${username}' is taken`);
    try {
      await this.store.adminUsers.create({ username, password_hash: await hashPassword(password), role });
    } catch (err) {
      if (err instanceof StoreConflictError) throw new GatewayError('GW_ERR_ADMIN_CONFLICT', `the user name '${username}' is taken`);
      throw err;
    }
  }

  /** HMAC key of invitation tokens, shared by the cluster through the store's settings. */
  private inviteMacKey(): Promise<Buffer> {
    this.macKey ??= this.store.setting(INVITE_MAC_KEY, () => randomBytes(32).toString('base64url')).then(
      (v) => Buffer.from(v, 'base64url'),
      (err: unknown) => {
        this.macKey = undefined;
        throw err;
      },
    );
    return this.macKey;
  }

  private async mac(nonce: string): Promise<Buffer> {
    return createHmac('sha256', await this.inviteMacKey()).update(nonce).digest().subarray(0, 16);
  }

  /**
   * A one-time token `gdi_<random>.<mac>`. The store keeps only its SHA-256 (as a settings key). The MAC
   * lets `accept` refuse forged tokens before touching the store, so guessing cannot fill the settings.
   */
  async invite(body: InvitationCreateDto, user: AdminPrincipal): Promise<{ username: string; token: string; expires_at: string }> {
    this.assertWritable();
    if (await this.store.adminUsers.find(body.username)) throw new GatewayError('GW_ERR_ADMIN_CONFLICT', `the user name '${body.username}' is taken`);
    const nonce = randomBytes(32).toString('base64url');
    const token = `${INVITE_PREFIX}${nonce}.${(await this.mac(nonce)).toString('base64url')}`;
    const record: InviteRecord = {
      username: body.username,
      expires_at: new Date(Date.now() + body.expires_in_seconds * 1000).toISOString(),
      groups: body.groups ?? [],
      invited_by: user.username,
    };
    await this.store.setting(inviteKey(sha256(token)), () => JSON.stringify(record));
    this.logger.info({ username: body.username, invited_by: user.username, expires_at: record.expires_at }, 'developer invited');
    return { username: body.username, token, expires_at: record.expires_at };
  }

  async acceptInvite(body: AcceptInviteDto): Promise<{ username: string; status: 'approved' }> {
    this.assertWritable();
    const invalid = () => new GatewayError('GW_ERR_DEVELOPER_INVITE_INVALID');
    const m = INVITE_TOKEN.exec(body.token);
    if (!m) throw invalid();
    const expected = await this.mac(m[1]!);
    const given = Buffer.from(m[2]!, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    const hash = sha256(body.token);
    // Authentic tokens were recorded when issued; '' only if the record was lost, which reads as invalid.
    const raw = await this.store.setting(inviteKey(hash), () => '');
    if (!raw) throw invalid();
    const record = JSON.parse(raw) as InviteRecord;
    if (Date.parse(record.expires_at) <= Date.now()) throw invalid();
    // One-time: the first caller to create the "used" setting owns the invitation, on any node.
    const claim = randomUUID();
    if ((await this.store.setting(inviteUsedKey(hash), () => claim)) !== claim) throw invalid();
    await this.createAccount(record.username, body.password, 'developer');
    await this.store.setting(emailKey(record.username), () => '');
    if (record.groups.length) {
      await this.writeProfile(record.username, () => ({ approved: true, groups: record.groups }), { author: record.invited_by, message: `developer ${record.username} accepted an invitation` });
    }
    this.logger.info({ username: record.username }, 'developer accepted an invitation');
    return { username: record.username, status: 'approved' };
  }

  private async developer(username: string): Promise<AdminUserRecord> {
    const user = isDeveloperName(username) ? await this.store.adminUsers.find(username) : undefined;
    if (!user || !isDeveloperRole(user.role)) throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `no developer '${username}'`);
    return user;
  }

  async approve(username: string, user: AdminPrincipal): Promise<DeveloperDto> {
    await this.developer(username);
    await this.writeProfile(username, (p) => ({ ...p, approved: true }), { author: user.username, message: `approve developer ${username}` });
    return this.get(username);
  }

  /** Sets the developer's groups, and applies them to every existing application of theirs. */
  async restrict(username: string, body: RestrictDto, user: AdminPrincipal): Promise<DeveloperDto> {
    const account = await this.developer(username);
    const meta = { author: user.username, message: `restrict developer ${username} to groups [${body.groups.join(', ')}]` };
    // Profile first: an application created meanwhile already takes the new groups.
    await this.writeProfile(username, (p) => ({ approved: p.approved || account.role === 'developer', groups: body.groups }), meta);
    for (const app of await this.listConsumers([ownerTag(username), APP_TAG])) {
      await this.writer.write((s) => s.update('consumers', String(app.username), { ...app, groups: body.groups }, meta));
    }
    return this.get(username);
  }

  private async writeProfile(username: string, change: (p: { approved: boolean; groups: string[] }) => { approved: boolean; groups: string[] }, meta: WriteMeta): Promise<void> {
    const current = await readProfile(this.store, username);
    const next = change(current ?? { approved: false, groups: [] });
    const entity: Entity = {
      username: profileName(username),
      groups: next.groups,
      tags: [PROFILE_TAG, ownerTag(username), ...(next.approved ? [APPROVED_TAG] : [])],
    };
    await this.writer.write((s) => (current ? s.update('consumers', profileName(username), entity, meta) : s.create('consumers', entity, meta)));
  }

  async list(): Promise<{ data: DeveloperDto[] }> {
    const listUsers = this.store.adminUsers.list;
    if (!listUsers) throw new GatewayError('GW_ERR_INTERNAL', 'this config store cannot list admin users');
    const users = (await listUsers.call(this.store.adminUsers)).filter((u) => isDeveloperRole(u.role));
    const profiles = new Map((await this.listConsumers([PROFILE_TAG])).map((c) => [String(c.username), c]));
    const apps = await this.listConsumers([APP_TAG]);
    const data: DeveloperDto[] = [];
    for (const u of users) data.push(await this.describe(u, profiles.get(profileName(u.username)), apps));
    return { data };
  }

  async get(username: string): Promise<DeveloperDto> {
    const u = await this.developer(username);
    const profile = await readProfile(this.store, username);
    return this.describe(u, profile?.entity, await this.listConsumers([ownerTag(username), APP_TAG]));
  }

  private async describe(u: AdminUserRecord, profile: Entity | undefined, apps: Entity[]): Promise<DeveloperDto> {
    const tag = ownerTag(u.username);
    const ownsProfile = profile !== undefined && (profile.tags as string[]).includes(tag);
    // As effectiveRole decides, from the profile already at hand.
    const approved = u.role === 'developer' || (ownsProfile && (profile.tags as string[]).includes(APPROVED_TAG));
    const email = await this.store.setting(emailKey(u.username), () => '');
    return {
      username: u.username,
      status: approved ? 'approved' : 'pending',
      groups: ownsProfile ? ((profile.groups as string[] | undefined) ?? []) : [],
      ...(email ? { email } : {}),
      applications: apps.filter((a) => (a.tags as string[]).includes(tag)).length,
      created_at: u.created_at,
    };
  }

  /** Every consumer carrying all `tags`, through as many pages as it takes. */
  private async listConsumers(tags: string[]): Promise<Entity[]> {
    const out: Entity[] = [];
    for (let offset = 0; ; offset += MAX_LIMIT) {
      const page = await this.store.list('consumers', { tags, offset, limit: MAX_LIMIT });
      out.push(...page.data);
      if (page.data.length < MAX_LIMIT) return out;
    }
  }
}
