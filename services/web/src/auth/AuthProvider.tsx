import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api } from "../api/client";
import type { Me } from "../api/types";

type Status = "loading" | "anon" | "authed";

interface Auth {
  status: Status;
  me: Me | null;
  login: (email: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  reloadMe: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<Status>("loading");
  const [me, setMe] = useState<Me | null>(null);

  const reloadMe = useCallback(async () => {
    try {
      setMe(await api.me());
      setStatus("authed");
    } catch {
      // signed in but /v1/me failed (network, accounts off): keep going without the account
      if (!api.token) setMe(null);
      setStatus(api.token ? "authed" : "anon");
    }
  }, []);

  // On page load: the refresh cookie gives a new access token (asked only when this browser
  // has signed in before: see SESSION_HINT_KEY).
  useEffect(() => {
    let live = true;
    void (async () => {
      const ok = api.token ? true : api.mayHaveSession() && (await api.refresh());
      if (!live) return;
      if (ok) await reloadMe();
      else setStatus("anon");
    })();
    return () => {
      live = false;
    };
  }, [reloadMe]);

  // A refresh that failed later (session ended elsewhere): back to the sign-in page.
  useEffect(
    () =>
      api.onTokenChange((token) => {
        if (!token) {
          setMe(null);
          setStatus("anon");
        }
      }),
    [],
  );

  const login = useCallback(
    async (email: string, password: string) => {
      await api.login(email, password);
      await reloadMe();
    },
    [reloadMe],
  );

  const logout = useCallback(async () => {
    try {
      await api.logout();
    } catch {
      // the session is gone here either way
    }
    setMe(null);
    setStatus("anon");
  }, []);

  const value = useMemo(() => ({ status, me, login, logout, reloadMe }), [status, me, login, logout, reloadMe]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}
