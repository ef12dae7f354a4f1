// Who is signed in, and the actions that change it. A 401 anywhere sends the user to sign in and,
// afterwards, back where they were.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useLocation, useNavigate } from "react-router";
import { get, json, setCsrfToken, setUnauthorizedHandler } from "../api/client";
import type { AuthStatus, User } from "../api/types";

interface AuthState {
  /** undefined while loading, null when signed out. */
  user: User | null | undefined;
  status: AuthStatus | null;
  signIn(username: string, password: string, register: boolean): Promise<void>;
  signOut(): Promise<void>;
  refreshStatus(): Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth outside AuthProvider");
  return state;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [status, setStatus] = useState<AuthStatus | null>(null);
  const navigate = useNavigate();
  const location = useLocation();

  const refreshStatus = useCallback(async () => setStatus(await get<AuthStatus>("/api/auth/status")), []);

  useEffect(() => {
    void refreshStatus();
    // A refusal answers for the moment it was asked: someone who signed in meanwhile stays signed in.
    get<User>("/api/auth/me").then(setUser, () => setUser((current) => current ?? null));
  }, [refreshStatus]);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setUser(null);
      setCsrfToken(null);
      const here = location.pathname + location.search;
      if (!here.startsWith("/signin")) navigate(`/signin?next=${encodeURIComponent(here)}`, { replace: true });
    });
    return () => setUnauthorizedHandler(null);
  }, [navigate, location]);

  const signIn = useCallback(
    async (username: string, password: string, register: boolean) => {
      const result = await json<{ user: User; csrfToken: string }>("POST", register ? "/api/auth/register" : "/api/auth/login", { username, password });
      setCsrfToken(result.csrfToken);
      setUser(result.user);
      await refreshStatus();
    },
    [refreshStatus],
  );

  const signOut = useCallback(async () => {
    await json("POST", "/api/auth/logout");
    setCsrfToken(null);
    setUser(null);
    navigate("/signin", { replace: true });
  }, [navigate]);

  const value = useMemo(() => ({ user, status, signIn, signOut, refreshStatus }), [user, status, signIn, signOut, refreshStatus]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
