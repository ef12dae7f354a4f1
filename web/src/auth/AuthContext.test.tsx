import { act, cleanup, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthProvider, useAuth } from "./AuthContext";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const ada = { id: "u1", username: "ada", isAdmin: false, isDisabled: false, createdAt: "2026-01-01T00:00:00Z" };
const reply = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

function Who() {
  const { user, signIn } = useAuth();
  return (
    <>
      <p data-testid="who">{user === undefined ? "loading" : user === null ? "nobody" : user.username}</p>
      <button onClick={() => void signIn("ada", "correct horse battery", true)}>sign up</button>
    </>
  );
}

describe("auth state", () => {
  it("keeps a user who signed up while the first who-am-I request was still out", async () => {
    let answerMe: (r: Response) => void = () => undefined;
    vi.stubGlobal(
      "fetch",
      vi.fn((url: string) => {
        if (url === "/api/auth/me") return new Promise<Response>((resolve) => (answerMe = resolve));
        if (url === "/api/auth/status") return Promise.resolve(reply(200, { signedIn: false, needsSetup: false, registrationOpen: true }));
        if (url === "/api/auth/register") return Promise.resolve(reply(200, { user: ada, csrfToken: "t" }));
        return Promise.resolve(reply(404, {}));
      }),
    );
    render(
      <MemoryRouter>
        <AuthProvider>
          <Who />
        </AuthProvider>
      </MemoryRouter>,
    );
    await act(async () => screen.getByText("sign up").click());
    expect(screen.getByTestId("who").textContent).toBe("ada");
    // The answer to the request made before signing up: signed out, as it was then.
    await act(async () => answerMe(reply(401, { error: { message: "Sign in first." } })));
    expect(screen.getByTestId("who").textContent).toBe("ada");
  });
});
