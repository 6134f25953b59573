import type { ComponentChildren } from 'preact';

/** A labelled input, with an optional hint tied to it by `aria-describedby`. */
export function Field({
  id,
  label,
  value,
  onInput,
  type = 'text',
  hint,
  required,
  invalid,
  list,
  inputRef,
  wide,
  children,
}: {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly onInput: (value: string) => void;
  readonly type?: 'text' | 'number';
  readonly hint?: string;
  readonly required?: boolean;
  readonly invalid?: boolean;
  readonly list?: string;
  readonly inputRef?: { current: HTMLInputElement | null };
  /** Spans the whole row of a form's grid. */
  readonly wide?: boolean;
  readonly children?: ComponentChildren;
}) {
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div class={wide ? 'field field-wide' : 'field'}>
      <label for={id}>{label}</label>
      <input
        id={id}
        ref={inputRef}
        type={type}
        value={value}
        list={list}
        autoComplete="off"
        spellcheck={false}
        {...(type === 'number' ? { min: 1, step: 1, inputMode: 'numeric' as const } : {})}
        aria-required={required ? 'true' : undefined}
        aria-invalid={invalid ? 'true' : undefined}
        aria-describedby={hintId}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
      {hint ? (
        <span id={hintId} class="hint">
          {hint}
        </span>
      ) : null}
      {children}
    </div>
  );
}
