import { useCallback, useState } from "react";
import { useNavigate } from "react-router-dom";
import type { Job } from "../api/types";
import { useAuth } from "../auth/AuthProvider";

/**
 * Starts a re-run of one image (adjust, clean again, retry): each answers 202 with a new job,
 * which the app then follows (its page streams the progress). `pending` while waiting; the
 * error (problem+json) for <ErrorMessage> when it is refused.
 */
export function useRerun() {
  const navigate = useNavigate();
  const { reloadMe } = useAuth();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const run = useCallback(
    async (start: () => Promise<Job>) => {
      setPending(true);
      setError(null);
      try {
        const job = await start();
        void reloadMe(); // a re-run spends an image: the count left changes
        navigate(`/jobs/${encodeURIComponent(job.id)}`);
      } catch (err) {
        setError(err);
        setPending(false);
      }
    },
    [navigate, reloadMe],
  );

  return { pending, error, run };
}
