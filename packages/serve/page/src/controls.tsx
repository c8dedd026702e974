// What both views' forms use: a labelled text area, a labelled number input, the error line.
import type { ComponentChildren } from 'preact';

/** A wide text area of three rows under its label. */
export function TextField(props: {
  label: ComponentChildren;
  name: string;
  value: string;
  onValue: (value: string) => void;
}) {
  return (
    <label class="wide">
      {props.label}
      <textarea
        name={props.name}
        rows={3}
        value={props.value}
        onInput={(e) => props.onValue(e.currentTarget.value)}
      />
    </label>
  );
}

/** A number input under its label; `title` explains a bound. */
export function NumberField(props: {
  label: string;
  name: string;
  value: number;
  onValue: (value: number) => void;
  min: number;
  max?: number;
  step?: number;
  title?: string;
}) {
  return (
    <label title={props.title}>
      {props.label}
      <input
        name={props.name}
        type="number"
        min={props.min}
        max={props.max}
        step={props.step}
        value={props.value}
        onInput={(e) => props.onValue(Number(e.currentTarget.value))}
      />
    </label>
  );
}

/** The failure of the last request, announced to screen readers; nothing when there is none. */
export function ErrorAlert({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}
