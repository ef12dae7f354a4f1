using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;

namespace Parley.Server.Tests;

/// <summary>Accounts on a real server with its own SQLite file: sign-up, sign-in, sessions, CSRF, lock-out, headers.</summary>
public sealed class AuthTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private Uri _url = null!;

    public async Task InitializeAsync() => (_app, _url) = await ServerFixture.StartAsync(configure: o => o with { AuthAttemptsPerMinute = 1000 });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private ParleyDb Db() => _app.Services.GetRequiredService<Database>().Open();

    [Fact]
    public async Task TheFirstAccountIsAdminAndPasswordsAndSessionsAreStoredHashed()
    {
        using var anonymous = new AppClient(_url);
        var status = await anonymous.GetJsonAsync("api/auth/status");
        Assert.True(status.GetProperty("needsSetup").GetBoolean());

        using var alice = new AppClient(_url);
        var admin = await alice.RegisterAsync("Alice");
        Assert.True(admin.GetProperty("isAdmin").GetBoolean());
        using var bob = new AppClient(_url);
        Assert.False((await bob.RegisterAsync("bob")).GetProperty("isAdmin").GetBoolean());
        Assert.Equal("Alice", (await alice.GetJsonAsync("api/auth/me")).GetProperty("username").GetString());
        Assert.Equal("bob", (await bob.GetJsonAsync("api/auth/me")).GetProperty("username").GetString());
        Assert.False((await anonymous.GetJsonAsync("api/auth/status")).GetProperty("needsSetup").GetBoolean());

        // A name differing only in case is taken.
        using var impostor = new AppClient(_url);
        await impostor.FetchCsrfAsync();
        Assert.Equal((HttpStatusCode.Conflict, "username_taken"), await impostor.StatusAsync(HttpMethod.Post, "api/auth/register", new { username = "ALICE", password = "another password" }));

        await using var db = Db();
        var stored = await db.Users.SingleAsync(u => u.NormalizedName == "alice");
        Assert.DoesNotContain("correct horse", stored.PasswordHash);
        Assert.StartsWith("AQAAAA", stored.PasswordHash); // Identity's v3 format: PBKDF2 with HMAC-SHA512
        string cookie = alice.Cookies.GetCookies(_url)["parley_session"]!.Value;
        Assert.DoesNotContain(await db.Sessions.Select(s => s.Id).ToListAsync(), id => id == cookie);
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == stored.Id));
    }

    [Fact]
    public async Task TheSessionCookieIsHttpOnlyAndSameSiteLax()
    {
        using var client = new AppClient(_url);
        await client.FetchCsrfAsync();
        using var response = await client.SendAsync(HttpMethod.Post, "api/auth/register", new { username = "carol", password = "correct horse battery" });
        var setCookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("parley_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", setCookie, StringComparison.OrdinalIgnoreCase); // plain HTTP here; Secure comes with HTTPS
    }

    [Fact]
    public async Task ChangesWithoutTheRightCsrfTokenAreRefused()
    {
        using var client = new AppClient(_url);
        var body = new { username = "dave", password = "correct horse battery" };
        Assert.Equal((HttpStatusCode.Forbidden, "csrf_failed"), await client.StatusAsync(HttpMethod.Post, "api/auth/register", body));
        client.Csrf = "forged";
        Assert.Equal((HttpStatusCode.Forbidden, "csrf_failed"), await client.StatusAsync(HttpMethod.Post, "api/auth/register", body));
        client.Csrf = null;
        await client.RegisterAsync("dave"); // fetches a token first

        // Signed in, the pre-session token no longer counts: the session's own does.
        string sessionToken = client.Csrf!;
        Assert.Equal((HttpStatusCode.Forbidden, "csrf_failed"), await client.StatusAsync(HttpMethod.Post, "api/auth/logout", csrf: false));
        client.Csrf = "forged";
        Assert.Equal((HttpStatusCode.Forbidden, "csrf_failed"), await client.StatusAsync(HttpMethod.Post, "api/auth/logout"));
        client.Csrf = sessionToken;
        Assert.Equal(sessionToken, await client.FetchCsrfAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await client.StatusAsync(HttpMethod.Post, "api/auth/logout")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.StatusAsync(HttpMethod.Get, "api/auth/me")).Status);

        // A form post from another site (no JSON) gets nowhere either.
        using var form = await client.Http.PostAsync("api/auth/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "dave", ["password"] = "x" }));
        Assert.Equal(HttpStatusCode.Forbidden, form.StatusCode);
    }

    [Fact]
    public async Task WrongPasswordsLockTheAccountForAWhile()
    {
        using var owner = new AppClient(_url);
        await owner.RegisterAsync("erin");
        using var attacker = new AppClient(_url);
        await attacker.FetchCsrfAsync();
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal((HttpStatusCode.Unauthorized, "invalid_credentials"),
                await attacker.StatusAsync(HttpMethod.Post, "api/auth/login", new { username = "erin", password = $"guess number {i}" }));
        }

        using var locked = await attacker.SendAsync(HttpMethod.Post, "api/auth/login", new { username = "erin", password = "correct horse battery" });
        Assert.Equal((HttpStatusCode)429, locked.StatusCode);
        Assert.InRange(int.Parse(locked.Headers.GetValues("Retry-After").Single()), 60, 300);

        // Unknown names answer exactly as wrong passwords do.
        Assert.Equal((HttpStatusCode.Unauthorized, "invalid_credentials"),
            await attacker.StatusAsync(HttpMethod.Post, "api/auth/login", new { username = "nobody", password = "whatever it is" }));
    }

    [Fact]
    public async Task ChangingThePasswordSignsOutOtherSessions()
    {
        using var laptop = new AppClient(_url);
        await laptop.RegisterAsync("frank");
        using var phone = new AppClient(_url);
        await phone.LoginAsync("frank");
        Assert.Equal((HttpStatusCode.Forbidden, "invalid_credentials"),
            await laptop.StatusAsync(HttpMethod.Post, "api/auth/password", new { currentPassword = "not it at all", newPassword = "a brand new secret" }));
        await laptop.JsonAsync(HttpMethod.Post, "api/auth/password", new { currentPassword = "correct horse battery", newPassword = "a brand new secret" });

        Assert.Equal(HttpStatusCode.OK, (await laptop.StatusAsync(HttpMethod.Get, "api/auth/me")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.StatusAsync(HttpMethod.Get, "api/auth/me")).Status);
        using var again = new AppClient(_url);
        await again.FetchCsrfAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await again.StatusAsync(HttpMethod.Post, "api/auth/login", new { username = "frank", password = "correct horse battery" })).Status);
        await again.LoginAsync("frank", "a brand new secret");
    }

    [Fact]
    public async Task EveryResponseCarriesTheSecurityHeaders()
    {
        using var client = new AppClient(_url);
        foreach (var path in new[] { "healthz", "api/auth/csrf", "api/auth/me", "v1/models" })
        {
            using var response = await client.Http.GetAsync(path);
            string csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.Contains("default-src 'self'", csp);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
            Assert.False(response.Headers.Contains("Strict-Transport-Security")); // only over HTTPS
        }
    }

    [Fact]
    public async Task V1IsOpenOnLoopbackUntilTheFirstAccountThenNeedsSignIn()
    {
        using var anonymous = new AppClient(_url);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.StatusAsync(HttpMethod.Get, "v1/models")).Status);
        using var grace = new AppClient(_url);
        await grace.RegisterAsync("grace");
        Assert.Equal((HttpStatusCode.Unauthorized, "invalid_api_key"), await anonymous.StatusAsync(HttpMethod.Get, "v1/models"));
        Assert.Equal(HttpStatusCode.OK, (await grace.StatusAsync(HttpMethod.Get, "v1/models")).Status);
        var chat = new { model = ServerFixture.ModelId, messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 2 };
        Assert.Equal((HttpStatusCode.Forbidden, "csrf_failed"), await grace.StatusAsync(HttpMethod.Post, "v1/chat/completions", chat, csrf: false));
        Assert.Equal(HttpStatusCode.OK, (await grace.StatusAsync(HttpMethod.Post, "v1/chat/completions", chat)).Status);
    }
}

/// <summary>Sign-in attempts per address are limited by ASP.NET Core's rate limiter: 429 with Retry-After.</summary>
public sealed class AuthRateLimitTests
{
    [Fact]
    public async Task TooManySignInAttemptsFromOneAddressGet429()
    {
        var (app, url) = await ServerFixture.StartAsync(configure: o => o with { AuthAttemptsPerMinute = 3 });
        await using var _ = app;
        using var client = new AppClient(url);
        await client.FetchCsrfAsync();
        var body = new { username = "nobody", password = "wrong password" };
        for (int i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await client.StatusAsync(HttpMethod.Post, "api/auth/login", body)).Status);
        using var limited = await client.SendAsync(HttpMethod.Post, "api/auth/login", body);
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single()) >= 1);
    }
}
