"use client";

import { useEffect, useState } from "react";

interface Refusal {
  data?: { retryAfterSeconds?: number } | null;
}

/**
 * Seconds left before a refused Run may be tried again (0 when none): a per-minute limit's message would be
 * stale once its wait is over, so `clear` is called then, and Run can show the countdown meanwhile.
 */
export function useRefusalWait(refusal: Refusal | null, clear: () => void): number {
  const seconds = refusal?.data?.retryAfterSeconds ?? 0;
  const [left, setLeft] = useState(seconds);
  useEffect(() => {
    setLeft(seconds);
    if (seconds <= 0) return;
    const deadline = Date.now() + seconds * 1000;
    const tick = setInterval(() => {
      const remaining = Math.ceil((deadline - Date.now()) / 1000);
      if (remaining > 0) return setLeft(remaining);
      clearInterval(tick);
      setLeft(0);
      clear();
    }, 250);
    return () => clearInterval(tick);
  }, [refusal, seconds, clear]);
  return left;
}
