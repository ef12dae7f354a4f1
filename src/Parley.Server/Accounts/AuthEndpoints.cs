using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Data;
using Parley.Server.Data.Entities;
using Parley.Server.OpenAi;
using Parley.Server.Security;

namespace Parley.Server.Accounts;

/// <summary>/api/auth: CSRF token, register, login, logout, me, status, change password.</summary>
public static class AuthEndpoints
{
    public const int MaxFailedLogins = 5;
    public static readonly TimeSpan Lockout = TimeSpan.FromMinutes(5);
    public const string RegistrationSetting = "registration";

    public static void Map(RouteGroupBuilder api)
    {
        var auth = api.MapGroup("/auth");
        auth.MapGet("/csrf", (HttpContext http) => Results.Ok(new { token = CsrfProtection.TokenFor(http) }));
        auth.MapGet("/status", Status);
        auth.MapPost("/register", Register).RequireRateLimiting(RateLimits.Auth);
        auth.MapPost("/login", Login).RequireRateLimiting(RateLimits.Auth);
        auth.MapPost("/logout", Logout);
        auth.MapGet("/me", async (HttpContext http, ParleyDb db) => Describe(await db.Users.SingleAsync(u => u.Id == http.User.UserId())))
            .RequireAuthorization();
        auth.MapPost("/password", ChangePassword).RequireAuthorization().RequireRateLimiting(RateLimits.Auth);
    }

    public static object Describe(User u) => new { id = u.Id, username = u.UserName, isAdmin = u.IsAdmin, isDisabled = u.IsDisabled, createdAt = u.CreatedAt };

    /// <summary>What the sign-in screen needs: whether anyone is signed in, whether the first (admin) account is still to be made, whether sign-up is open.</summary>
    private static async Task<IResult> Status(HttpContext http, ParleyDb db)
    {
        bool hasUsers = await db.Users.AnyAsync();
        return Results.Ok(new { signedIn = http.User.IsSignedIn(), needsSetup = !hasUsers, registrationOpen = !hasUsers || await RegistrationOpen(db) });
    }

    public static async Task<bool> RegistrationOpen(ParleyDb db) =>
        await db.ServerSettings.FindAsync(RegistrationSetting) is not { Value: "closed" };

    private static async Task<IResult> Register(HttpContext http, ParleyDb db)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        string name = UserNames.Validate(j.RequiredString("username"));
        string password = j.RequiredString("password");
        Passwords.Validate(password, "password");
        bool first = !await db.Users.AnyAsync();
        if (!first && !await RegistrationOpen(db)) throw new ApiException(403, "Registration is closed; ask the administrator for an account.", "permission_error", code: "registration_closed");
        string normalized = UserNames.Normalize(name);
        if (await db.Users.AnyAsync(u => u.NormalizedName == normalized)) throw new ApiException(409, $"The user name '{name}' is taken.", code: "username_taken");

        var user = new User { UserName = name, NormalizedName = normalized, PasswordHash = Passwords.Hash(password), IsAdmin = first };
        db.Users.Add(user);
        await db.SaveChangesAsync();
        string csrf = await StartSessionAsync(http, db, user);
        return Results.Json(new { user = Describe(user), csrfToken = csrf }, statusCode: 201);
    }

    private static async Task<IResult> Login(HttpContext http, ParleyDb db)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        string normalized = UserNames.Normalize(j.RequiredString("username"));
        string password = j.RequiredString("password");
        var user = await db.Users.FirstOrDefaultAsync(u => u.NormalizedName == normalized);
        if (user?.LockedUntil is { } until && until > DateTime.UtcNow)
        {
            throw new ApiException(429, "Too many failed sign-ins: this account is locked for a few minutes.", "rate_limit_error", code: "account_locked")
            {
                RetryAfterSeconds = (int)Math.Ceiling((until - DateTime.UtcNow).TotalSeconds),
            };
        }

        if (!Passwords.Verify(user, password) || user!.IsDisabled)
        {
            if (user is not null)
            {
                user.FailedLogins++;
                if (user.FailedLogins >= MaxFailedLogins) (user.LockedUntil, user.FailedLogins) = (DateTime.UtcNow + Lockout, 0);
                await db.SaveChangesAsync();
            }

            throw new ApiException(401, "Wrong user name or password, or the account is disabled.", "authentication_error", code: "invalid_credentials");
        }

        (user.FailedLogins, user.LockedUntil) = (0, null);
        string csrf = await StartSessionAsync(http, db, user);
        return Results.Ok(new { user = Describe(user), csrfToken = csrf });
    }

    private static async Task<IResult> Logout(HttpContext http, ParleyDb db)
    {
        if (http.Request.Cookies[SessionCookie.Name] is { Length: > 0 } token)
        {
            string id = Secrets.Hash(token);
            await db.Sessions.Where(s => s.Id == id).ExecuteDeleteAsync();
        }

        SessionCookie.Clear(http, SessionCookie.Name);
        return Results.NoContent();
    }

    /// <summary>Needs the current password; signs out every other session of the user.</summary>
    private static async Task<IResult> ChangePassword(HttpContext http, ParleyDb db)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        string current = j.RequiredString("currentPassword"), next = j.RequiredString("newPassword");
        Passwords.Validate(next, "newPassword");
        var user = await db.Users.SingleAsync(u => u.Id == http.User.UserId());
        if (!Passwords.Verify(user, current)) throw new ApiException(403, "The current password is wrong.", "permission_error", "currentPassword", "invalid_credentials");
        user.PasswordHash = Passwords.Hash(next);
        string? keep = http.User.FindFirst(ParleyClaims.SessionToken)?.Value is { } token ? Secrets.Hash(token) : null;
        await db.Sessions.Where(s => s.UserId == user.Id && s.Id != keep).ExecuteDeleteAsync();
        await db.SaveChangesAsync();
        return Results.NoContent();
    }

    /// <summary>Creates a session and sets its cookie (replacing any other); returns the session's CSRF token.</summary>
    private static async Task<string> StartSessionAsync(HttpContext http, ParleyDb db, User user)
    {
        string token = Secrets.NewToken();
        var expires = DateTime.UtcNow + SessionCookie.Lifetime;
        db.Sessions.Add(new Session { Id = Secrets.Hash(token), UserId = user.Id, ExpiresAt = expires });
        await db.Sessions.Where(s => s.UserId == user.Id && s.ExpiresAt < DateTime.UtcNow).ExecuteDeleteAsync();
        await db.SaveChangesAsync();
        SessionCookie.Set(http, SessionCookie.Name, token, expires);
        SessionCookie.Clear(http, SessionCookie.PreSession);
        return Secrets.CsrfToken(token);
    }
}
