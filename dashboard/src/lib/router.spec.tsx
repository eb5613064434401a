/**
 * Tests of the router: path matching and building, and in-app navigation by Link.
 */
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { Link, matchPath, navigate, pathTo, queryOf, setQueryParam, useLocation } from './router';

afterEach(() => window.history.replaceState(null, '', '/'));

describe('matchPath', () => {
  it.each([
    ['/ui/services', '/ui/services', {}],
    ['/ui/services', '/ui/services/', {}],
    ['/ui/services', '/ui/services?q=a', {}],
    ['/ui/services/:name', '/ui/services/users', { name: 'users' }],
    ['/ui/services/:name', '/ui/services/a%20b%2Fc', { name: 'a b/c' }],
  ])('%s matches %s', (pattern, path, params) => {
    expect(matchPath(pattern, path)).toEqual(params);
  });

  it.each([
    ['/ui/services', '/ui/routes'],
    ['/ui/services/:name', '/ui/services'],
    ['/ui/services/:name', '/ui/services/a/b'],
    ['/ui/services/:name', '/ui/services/%E0%A4%A'],
  ])('%s does not match %s', (pattern, path) => {
    expect(matchPath(pattern, path)).toBeUndefined();
  });

  it('builds paths that match back to the same parameters', () => {
    const path = pathTo('/ui/services/:name/routes/:route', { name: 'a/b c', route: 'x?y' });
    expect(path).toBe('/ui/services/a%2Fb%20c/routes/x%3Fy');
    expect(matchPath('/ui/services/:name/routes/:route', path)).toEqual({ name: 'a/b c', route: 'x?y' });
    expect(() => pathTo('/ui/services/:name')).toThrow(/missing parameter name/);
  });
});

function Where() {
  const location = useLocation();
  return <p data-testid="where">{location}</p>;
}

describe('navigation', () => {
  it('Link navigates in-app and re-renders location readers; Back returns', async () => {
    const user = userEvent.setup();
    render(
      <>
        <Where />
        <Link to="/ui/routes?q=x">Routes</Link>
      </>,
    );
    expect(screen.getByTestId('where').textContent).toBe('/');
    await user.click(screen.getByRole('link', { name: 'Routes' }));
    expect(screen.getByTestId('where').textContent).toBe('/ui/routes?q=x');
    expect(queryOf(window.location.pathname + window.location.search).get('q')).toBe('x');
    window.history.back();
    await screen.findByText('/');
  });

  it('setQueryParam replaces the entry instead of adding one', () => {
    navigate('/ui/services');
    const length = window.history.length;
    setQueryParam('q', 'web');
    expect(window.location.search).toBe('?q=web');
    setQueryParam('q', '');
    expect(window.location.search).toBe('');
    expect(window.history.length).toBe(length);
  });
});
