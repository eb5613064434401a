/**
 * The signed-in frame: top bar (brand, menu toggle on narrow screens, user, sign-out), the side
 * navigation of the pages the role may open, and the page itself.
 */
import { useState, type ReactNode } from 'react';
import type { Session } from '../features/auth/session';
import { audienceOf } from '../features/auth/roles';
import { Link, useLocation } from '../lib/router';
import { ROUTES, type NavGroup } from '../routes';

const GROUPS: NavGroup[] = ['Monitor', 'Configure', 'Govern', 'Portal'];

export function Shell({ session, onSignOut, children }: { session: Session; onSignOut: () => void; children: ReactNode }) {
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const audience = audienceOf(session.role);
  const pages = ROUTES.filter((r) => r.nav && r.audience === audience);
  const path = location.split('?')[0]!;

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top-bar">
        <button
          type="button"
          className="secondary menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="side-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </button>
        <span className="brand">Gatehouse</span>
        <span className="user">
          {session.username} <span className="muted">({session.role})</span>
        </span>
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <div className="frame">
        <nav id="side-nav" className={menuOpen ? 'side-nav open' : 'side-nav'} aria-label="Main">
          {GROUPS.map((group) => {
            const items = pages.filter((p) => p.nav!.group === group);
            if (items.length === 0) return null;
            return (
              <div key={group} className="nav-group">
                <p className="nav-group-title">{group}</p>
                <ul>
                  {items.map((p) => {
                    const current = path === p.path || (p.path !== '/ui' && path.startsWith(`${p.path}/`));
                    return (
                      <li key={p.path}>
                        <Link to={p.path} aria-current={current ? 'page' : undefined} onClick={() => setMenuOpen(false)}>
                          {p.nav!.label}
                        </Link>
                      </li>
                    );
                  })}
                </ul>
              </div>
            );
          })}
        </nav>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
