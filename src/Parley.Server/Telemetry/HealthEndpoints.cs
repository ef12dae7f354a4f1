using Microsoft.AspNetCore.Http;
using Parley.Server.Hosting;

namespace Parley.Server.Telemetry;

/// <summary>Liveness (the process answers) and readiness (the default model is loaded and its engine runs).</summary>
public static class HealthEndpoints
{
    public static IResult Live() => Results.Json(new { status = "ok" });

    public static IResult Ready(ModelRegistry models) =>
        models.Ready
            ? Results.Json(new { status = "ready", model = models.DefaultId })
            : Results.Json(new { status = "loading", model = models.DefaultId }, statusCode: 503);
}
