using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Server.Data;
using Parley.Server.Data.Entities;

namespace Parley.Server.Accounts;

/// <summary>
/// Signs requests in from an API key (Authorization: Bearer) or the session cookie, both looked up
/// by their SHA-256 in the database, so every API node accepts them without shared memory.
/// Disabled users and expired sessions are anonymous.
/// </summary>
public sealed class ParleyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var db = Context.RequestServices.GetRequiredService<ParleyDb>();
        string authorization = Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            string hash = Secrets.Hash(authorization["Bearer ".Length..].Trim());
            var key = await db.ApiKeys.Include(k => k.User).FirstOrDefaultAsync(k => k.Hash == hash, Context.RequestAborted);
            if (key?.User is not { IsDisabled: false } keyUser) return AuthenticateResult.Fail("invalid API key");
            if (key.LastUsedAt is null || DateTime.UtcNow - key.LastUsedAt > TimeSpan.FromMinutes(1))
            {
                key.LastUsedAt = DateTime.UtcNow;
                await db.SaveChangesAsync(Context.RequestAborted);
            }

            return Success(keyUser, "key", null);
        }

        if (Request.Cookies[SessionCookie.Name] is not { Length: > 0 } token) return AuthenticateResult.NoResult();
        string id = Secrets.Hash(token);
        var session = await db.Sessions.Include(s => s.User).FirstOrDefaultAsync(s => s.Id == id, Context.RequestAborted);
        if (session?.User is not { IsDisabled: false } user || session.ExpiresAt < DateTime.UtcNow) return AuthenticateResult.NoResult();
        return Success(user, "cookie", token);
    }

    private AuthenticateResult Success(User user, string method, string? sessionToken)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, user.Id.ToString()),
            new(ClaimTypes.Name, user.UserName),
            new(ParleyClaims.Method, method),
        };
        if (user.IsAdmin) claims.Add(new Claim(ClaimTypes.Role, ParleyClaims.AdminRole));
        if (sessionToken is not null) claims.Add(new Claim(ParleyClaims.SessionToken, sessionToken));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name)), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        OpenAi.ApiErrors.WriteAsync(Context, new OpenAi.ApiException(401, "Sign in, or send an API key as 'Authorization: Bearer KEY'.", "authentication_error", code: "unauthenticated"));

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        OpenAi.ApiErrors.WriteAsync(Context, new OpenAi.ApiException(403, "This needs an administrator.", "permission_error", code: "forbidden"));
}
