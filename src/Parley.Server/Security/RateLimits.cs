using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Accounts;
using Parley.Server.OpenAi;

namespace Parley.Server.Security;

/// <summary>
/// ASP.NET Core rate limiting: the auth endpoints per client address, or per user once signed in
/// (password changes), against password guessing beside the per-account lock-out; message sending
/// per user. Refusals are 429 with Retry-After in the API's error envelope.
/// </summary>
public static class RateLimits
{
    public const string Auth = "auth";
    public const string Send = "send";

    /// <summary>Whom a limit counts: the signed-in user, else the client address.</summary>
    private static string Caller(HttpContext http) =>
        http.User.IsSignedIn() ? $"user:{http.User.UserId()}" : $"ip:{http.Connection.RemoteIpAddress}";

    public static void Add(IServiceCollection services, ServerOptions options)
    {
        services.AddRateLimiter(r =>
        {
            r.AddPolicy(Auth, http => RateLimitPartition.GetFixedWindowLimiter(
                Caller(http),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.AuthAttemptsPerMinute, Window = TimeSpan.FromMinutes(1) }));
            r.AddPolicy(Send, http => RateLimitPartition.GetTokenBucketLimiter(
                Caller(http),
                _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.MessagesPerMinute,
                    TokensPerPeriod = options.MessagesPerMinute,
                    ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                }));
            r.OnRejected = (context, _) =>
            {
                int seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 60;
                return new ValueTask(ApiErrors.WriteAsync(context.HttpContext, new ApiException(429,
                    $"Too many requests; try again in {seconds.ToString(CultureInfo.InvariantCulture)} s.", "rate_limit_error", code: "rate_limited") { RetryAfterSeconds = seconds }));
            };
        });
    }
}
