using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Parley.Inference.Serving;
using Microsoft.AspNetCore.Authentication;
using Parley.Server.Accounts;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Hosting;
using Parley.Server.Security;
using Parley.Server.OpenAi;
using Parley.Server.Telemetry;

namespace Parley.Server;

/// <summary>
/// Builds the Parley web application: Kestrel on the given address, the app API (/api: accounts,
/// conversations) over the database, the OpenAI-compatible /v1 API, health probes and Prometheus
/// metrics, with the engine in-process.
/// </summary>
public static class ParleyServer
{
    public static WebApplication Build(ServerOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':') ? $"[{options.Host}]" : options.Host)}:{options.Port}");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);

        var registry = new ModelRegistry(options.Models, options.Threads, options.Scheduler, options.ChatTemplate);
        builder.Services.AddSingleton(registry);
        var database = Database.Open(options.Database, options.DataDirectory);
        database.MigrateAsync().GetAwaiter().GetResult();
        InterruptedAnswers.MarkAsync(database, options.Node).GetAwaiter().GetResult();
        builder.Services.AddSingleton(database);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<Generations>();
        builder.Services.AddHostedService<InterruptedAnswers>();
        builder.Services.AddScoped(_ => database.Open());
        builder.Services.AddAuthentication(ParleyClaims.Scheme).AddScheme<AuthenticationSchemeOptions, ParleyAuthenticationHandler>(ParleyClaims.Scheme, null);
        builder.Services.AddAuthorizationBuilder().AddPolicy(ParleyClaims.AdminRole, p => p.RequireRole(ParleyClaims.AdminRole));
        RateLimits.Add(builder.Services, options);
        WebApp.AddServices(builder.Services);
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(Scheduler.MeterName)
            .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
            .AddPrometheusExporter());

        var app = builder.Build();
        var generations = app.Services.GetRequiredService<Generations>();
        app.Lifetime.ApplicationStopping.Register(() => generations.InterruptAllAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult());
        app.Lifetime.ApplicationStopped.Register(registry.Dispose);

        if (options.BehindProxy)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto };
            forwarded.KnownIPNetworks.Clear(); // the proxy's address is not known in advance (an ingress, a load balancer)
            forwarded.KnownProxies.Clear();
            app.UseForwardedHeaders(forwarded);
        }

        app.Use(SecurityHeaders.Middleware);
        WebApp.Use(app);
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseWhen(IsApi, b => b.Use(ApiErrors.Middleware).Use(CsrfProtection.Middleware));
        var v1Access = new V1Access();
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/v1"), b => b.Use(v1Access.Middleware));
        app.UseRateLimiter();

        app.MapGet("/healthz", HealthEndpoints.Live);
        app.MapGet("/readyz", HealthEndpoints.Ready);
        app.MapPrometheusScrapingEndpoint("/metrics");

        var v1 = app.MapGroup("/v1");
        v1.MapPost("/chat/completions", ChatCompletions.Handle);
        v1.MapPost("/completions", TextCompletions.Handle);
        v1.MapGet("/models", ModelsEndpoints.List);
        v1.MapGet("/models/{**id}", ModelsEndpoints.Get);
        v1.Map("/{**path}", UnknownUrl);

        var api = app.MapGroup("/api");
        AuthEndpoints.Map(api);
        KeyEndpoints.Map(api);
        SettingsEndpoints.Map(api);
        AdminEndpoints.Map(api);
        ConversationEndpoints.Map(api);
        MessageEndpoints.Map(api);
        api.Map("/{**path}", UnknownUrl);

        WebApp.MapFallback(app);

        // Load the default model now, so that the first request does not wait and /readyz tells the truth.
        registry.Get(registry.DefaultId);
        return app;
    }

    private static Task UnknownUrl(HttpContext http) =>
        ApiErrors.WriteAsync(http, new ApiException(404, $"Unknown request URL: {http.Request.Method} {http.Request.Path}.", code: "unknown_url"));

    private static bool IsApi(HttpContext http) => http.Request.Path.StartsWithSegments("/api") || http.Request.Path.StartsWithSegments("/v1");

    /// <summary>The address the server listens on, once started (resolves port 0).</summary>
    public static Uri Address(WebApplication app) => new(app.Urls.First());
}
