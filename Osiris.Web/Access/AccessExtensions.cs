using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Osiris.Web.Access;

public static class AccessExtensions
{
    public const string SignInPath = "/signin";

    public static IServiceCollection AddOsirisAccess(this IServiceCollection services)
    {
        services.AddSingleton<AccessPolicy>();
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(cookie =>
        {
            cookie.Cookie.Name = "osiris.auth";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.LoginPath = SignInPath;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(12);
            cookie.SlidingExpiration = true;
        });
        services.AddCascadingAuthenticationState();
        return services;
    }

    /// <summary>Every request but the sign-in page, static files and health probes needs the cookie when sign-in is required.</summary>
    public static IApplicationBuilder UseOsirisAccess(this WebApplication app)
    {
        app.UseAuthentication();
        app.Use(async (context, next) =>
        {
            var policy = context.RequestServices.GetRequiredService<AccessPolicy>();
            if (!policy.SignInRequired || context.User.Identity?.IsAuthenticated == true || IsOpen(context.Request.Path))
            {
                await next(context);
                return;
            }
            if (HttpMethods.IsGet(context.Request.Method) && !context.Request.Path.StartsWithSegments("/_blazor"))
            {
                var returnUrl = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
                context.Response.Redirect($"{SignInPath}?returnUrl={Uri.EscapeDataString(returnUrl)}");
                return;
            }
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        });
        app.MapPost("/signout", async (HttpContext context) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect(SignInPath);
        });
        return app;
    }

    public static Task SignInOperatorAsync(this HttpContext context) =>
        context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator")], CookieAuthenticationDefaults.AuthenticationScheme)));

    private static bool IsOpen(PathString path) =>
        path.StartsWithSegments(SignInPath) || path.StartsWithSegments("/health") || path.StartsWithSegments("/alive") ||
        path.StartsWithSegments("/_framework") || path.StartsWithSegments("/lib") ||
        path.Value is { } p && (p.EndsWith(".css", StringComparison.Ordinal) || p.EndsWith(".js", StringComparison.Ordinal) ||
                                p.EndsWith(".svg", StringComparison.Ordinal) || p.EndsWith(".ico", StringComparison.Ordinal));
}
