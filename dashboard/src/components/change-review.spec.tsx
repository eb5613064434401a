/**
 * Tests of the change review dialog: the diff it shows, Apply/Cancel/Escape, and a failed apply.
 */
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ChangeReview } from './change-review';

describe('ChangeReview', () => {
  it('shows only the changed fields with context and applies', async () => {
    const user = userEvent.setup();
    const onApply = vi.fn();
    render(<ChangeReview title="Update service users" before={{ name: 'users', retries: 5 }} after={{ retries: 2, name: 'users' }} onApply={onApply} onCancel={() => {}} />);
    const diff = screen.getByLabelText('Changes');
    expect(diff.querySelector('.diff-del')?.textContent).toContain('"retries": 5');
    expect(diff.querySelector('.diff-add')?.textContent).toContain('"retries": 2');
    expect(diff.querySelectorAll('.diff-add, .diff-del')).toHaveLength(2);
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Apply change' }));
    await user.click(screen.getByRole('button', { name: 'Apply change' }));
    expect(onApply).toHaveBeenCalledOnce();
  });

  it('cannot apply a change that changes nothing; Escape cancels', async () => {
    const user = userEvent.setup();
    const onCancel = vi.fn();
    render(<ChangeReview title="Update" before={{ a: 1 }} after={{ a: 1 }} onApply={() => {}} onCancel={onCancel} />);
    expect(screen.getByText('Nothing changes.')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Apply change' }).hasAttribute('disabled')).toBe(true);
    await user.keyboard('{Escape}');
    expect(onCancel).toHaveBeenCalledOnce();
  });

  it('keeps the dialog open with the error of a failed apply', () => {
    render(<ChangeReview title="Delete" before={{ a: 1 }} after={undefined} onApply={() => {}} onCancel={() => {}} error="Service is used by route r1" />);
    expect(screen.getByRole('alert').textContent).toBe('Service is used by route r1');
    expect(screen.getByRole('dialog', { name: 'Delete' })).toBeTruthy();
  });
});
