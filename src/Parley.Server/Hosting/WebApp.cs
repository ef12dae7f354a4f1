using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;

namespace Parley.Server.Hosting;

/// <summary>
/// Serves the built web app (the output's webapp/ folder) from the same origin as /api and /v1:
/// hashed assets cached for a year, index.html never cached, and every other path that is not an
/// API falls back to index.html so that the app's own routes survive a reload. Compressed with
/// Brotli or gzip (static files hold no secrets, so also over HTTPS).
/// </summary>
public static class WebApp
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "webapp");

    public static bool Exists => File.Exists(Path.Combine(Root, "index.html"));

    public static void AddServices(IServiceCollection services)
    {
        // Assets are cached for a year once fetched, so compressing them well matters more than fast.
        services.Configure<BrotliCompressionProviderOptions>(o => o.Level = CompressionLevel.Optimal);
        services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.SmallestSize);
        services.AddResponseCompression(o =>
        {
            o.EnableForHttps = true;
            o.Providers.Add<BrotliCompressionProvider>();
            o.Providers.Add<GzipCompressionProvider>();
            o.MimeTypes = ["text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml", "font/ttf"];
        });
    }

    public static void Use(WebApplication app)
    {
        if (!Exists) return;
        var files = new PhysicalFileProvider(Root);
        app.UseWhen(http => !IsApi(http.Request.Path), branch =>
        {
            branch.UseResponseCompression();
            branch.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                OnPrepareResponse = c => c.Context.Response.Headers.CacheControl =
                    c.Context.Request.Path.StartsWithSegments("/assets") ? "public, max-age=31536000, immutable" : "no-cache",
            });
        });
    }

    /// <summary>After every API route: the app's index.html for any other GET of a route (not of a file: a missing asset is a 404).</summary>
    public static void MapFallback(WebApplication app)
    {
        if (!Exists) return;
        string index = Path.Combine(Root, "index.html");
        app.MapFallback(async (HttpContext http) =>
        {
            if (IsApi(http.Request.Path) || !HttpMethods.IsGet(http.Request.Method) || Path.HasExtension(http.Request.Path.Value))
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            http.Response.ContentType = "text/html; charset=utf-8";
            http.Response.Headers.CacheControl = "no-cache";
            await http.Response.SendFileAsync(index);
        });
    }

    private static bool IsApi(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/v1") || path.StartsWithSegments("/metrics") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz");
}
