using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Accounts;
using Parley.Server.OpenAi;

namespace Parley.Server.Security;

/// <summary>
/// ASP.NET Core rate limiting: sign-in and sign-up per client address (against password guessing,
/// beside the per-account lock-out) and message sending per user. Refusals are 429 with Retry-After
/// in the API's error envelope.
/// </summary>
public static class RateLimits
{
    public const string Auth = "auth";
    public const string Send = "send";

    public static void Add(IServiceCollection services, ServerOptions options)
    {
        services.AddRateLimiter(r =>
        {
            r.AddPolicy(Auth, http => RateLimitPartition.GetFixedWindowLimiter(
                http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.AuthAttemptsPerMinute, Window = TimeSpan.FromMinutes(1) }));
            r.AddPolicy(Send, http => RateLimitPartition.GetTokenBucketLimiter(
                http.User.IsSignedIn() ? http.User.UserId().ToString() : http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
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
