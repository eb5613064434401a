/**
 * `GET /acme`: each ACME-managed domain's certificate and issuance state (failures, backoff, the CA's last
 * error). The manager is handed to the admin module as ADMIN_ACME (null when ACME is off).
 */
import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import type { AcmeManager, AcmeStatus } from './acme.js';

export const ADMIN_ACME = Symbol('ADMIN_ACME');

const Iso = (description: string) => Type.Union([Type.String({ description }), Type.Null()]);

export const AcmeDomainStatusSchema = Type.Object(
  {
    domain: Type.String({ description: 'A host name of GATEHOUSE_ACME_DOMAINS.' }),
    certificate: Type.String({ description: 'Name of its `certificates` entity (`acme-<domain>`).' }),
    state: Type.Union([Type.Literal('valid'), Type.Literal('due'), Type.Literal('issuing'), Type.Literal('backoff')], {
      description: '`valid`: stored and not due; `due`: no certificate yet, or renewal due (the next check orders one); `issuing`: this node is ordering it now; `backoff`: waiting after a failure until `next_attempt_at`.',
    }),
    not_after: Iso('End of validity of the stored certificate.'),
    issuer: Iso("The stored certificate's issuer."),
    failures: Type.Integer({ description: 'Failed orders in a row (any node); 0 after a success.' }),
    last_error: Type.Union([Type.String(), Type.Null()], { description: "The last failure: the CA's problem type and detail, or the local error." }),
    error_at: Iso('When the last failure happened.'),
    next_attempt_at: Iso('No node orders again before this instant (exponential backoff).'),
    last_issued_at: Iso('When a certificate was last obtained.'),
    node: Type.Union([Type.String(), Type.Null()], { description: 'The node that issued, or failed, last.' }),
  },
  { $id: 'AcmeDomainStatus', description: 'One ACME-managed domain.' },
);

export const AcmeStatusSchema = Type.Object(
  {
    enabled: Type.Boolean({ description: 'false when GATEHOUSE_ACME_DOMAINS is unset.' }),
    directory: Type.Optional(Type.String({ description: 'The ACME directory URL (GATEHOUSE_ACME_DIRECTORY).' })),
    shared: Type.Optional(Type.Boolean({ description: 'true: locks, challenges and state are shared through Redis (several nodes); false: this node only.' })),
    renew_before_days: Type.Optional(Type.Number({ description: 'A certificate is renewed when less than this remains.' })),
    domains: Type.Array(AcmeDomainStatusSchema),
  },
  { $id: 'AcmeStatus', description: 'Automatic certificates (ACME).' },
);

export const ACME_SCHEMAS = [AcmeDomainStatusSchema, AcmeStatusSchema];

export const ACME_OPERATIONS = [
  { method: 'get', path: '/acme', summary: 'Automatic certificates (ACME): each domain, its certificate, failures, backoff and last error', tag: 'certificates', access: 'viewer', status: 200, response: AcmeStatusSchema },
] as const;

@Controller()
export class AcmeController {
  constructor(@Optional() @Inject(ADMIN_ACME) private readonly acme: Pick<AcmeManager, 'status'> | null) {}

  @Get('acme')
  async status(): Promise<AcmeStatus | { enabled: false; domains: [] }> {
    return this.acme ? this.acme.status() : { enabled: false, domains: [] };
  }
}
