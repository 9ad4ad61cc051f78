"use client";

import {
  createContext,
  type CSSProperties,
  type KeyboardEvent,
  type PointerEvent,
  type ReactNode,
  useContext,
  useEffect,
  useRef,
  useState,
} from "react";

export type LabPane = "instructions" | "code" | "results";

const panes: { key: LabPane; label: string }[] = [
  { key: "instructions", label: "Instructions" },
  { key: "code", label: "Code" },
  { key: "results", label: "Results" },
];

/** Lets the workbench bring the results forward on a phone when a Run starts. */
const ShowPane = createContext<(pane: LabPane) => void>(() => {});
export const useShowPane = () => useContext(ShowPane);

const widthKey = "backend-labs:instructions-width";
const [minWidth, maxWidth] = [20, 70];

/**
 * The lab page's frame. On a desktop: instructions beside the workbench, split by a separator that drags
 * (or moves with the arrow keys) and is remembered. On a phone: one pane at a time, under tabs.
 */
export function LabLayout({ instructions, workbench }: { instructions: ReactNode; workbench: ReactNode }) {
  const [pane, setPane] = useState<LabPane>("instructions");
  const [width, setWidth] = useState(40);
  const frame = useRef<HTMLElement>(null);
  useEffect(() => {
    const saved = Number(localStorage.getItem(widthKey));
    if (saved >= minWidth && saved <= maxWidth) setWidth(saved);
  }, []);
  const resize = (percent: number) => {
    const clamped = Math.min(maxWidth, Math.max(minWidth, Math.round(percent)));
    setWidth(clamped);
    localStorage.setItem(widthKey, String(clamped));
  };
  const drag = (event: PointerEvent<HTMLDivElement>) => {
    const box = frame.current?.getBoundingClientRect();
    if (!box || event.buttons !== 1) return;
    resize(((event.clientX - box.left) / box.width) * 100);
  };
  const keys = (event: KeyboardEvent<HTMLDivElement>) => {
    const step = { ArrowLeft: -5, ArrowRight: 5 }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    resize(width + step);
  };
  return (
    <ShowPane.Provider value={setPane}>
      <main
        ref={frame}
        className="lab-page"
        data-pane={pane}
        style={{ "--instructions-width": `${width}%` } as CSSProperties}
      >
        <nav className="pane-tabs" role="tablist" aria-label="Lab page">
          {panes.map(({ key, label }) => (
            <button
              key={key}
              type="button"
              role="tab"
              aria-selected={pane === key}
              onClick={() => setPane(key)}
            >
              {label}
            </button>
          ))}
        </nav>
        {instructions}
        <div
          className="pane-separator"
          role="separator"
          aria-orientation="vertical"
          aria-label="Resize the instructions"
          aria-valuemin={minWidth}
          aria-valuemax={maxWidth}
          aria-valuenow={width}
          tabIndex={0}
          onPointerDown={(event) => event.currentTarget.setPointerCapture(event.pointerId)}
          onPointerMove={drag}
          onKeyDown={keys}
        />
        {workbench}
      </main>
    </ShowPane.Provider>
  );
}
