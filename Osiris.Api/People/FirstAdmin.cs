using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Api.Security;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.People;

/// <summary>On the first run, while nobody exists, creates the admin the AppHost generated a password for.</summary>
public static class FirstAdmin
{
    public static async Task EnsureFirstAdminAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var options = scope.ServiceProvider.GetRequiredService<IOptions<AuthOptions>>().Value;
        var logger = scope.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Osiris.Api.People");
        if (await db.Users.AnyAsync(ct))
        {
            return;
        }
        if (string.IsNullOrEmpty(options.AdminPassword))
        {
            logger.LogWarning("Nobody can sign in yet: no person exists and Osiris:Auth:AdminPassword is not set. The api-key still works; " +
                              "create people with POST /api/v1/users.");
            return;
        }
        var users = scope.ServiceProvider.GetRequiredService<UserManager<OsirisUser>>();
        var admin = new OsirisUser { UserName = options.AdminUserName, Role = Roles.Admin, CreatedAt = TimeProvider.System.UtcNow() };
        var created = await users.CreateAsync(admin, options.AdminPassword);
        if (created.Succeeded)
        {
            // The password itself is never logged; the AppHost keeps it.
            logger.LogInformation("Created the first admin '{Admin}'. Its password is the AppHost parameter admin-password: " +
                                  "dotnet user-secrets list --project Osiris.AppHost", options.AdminUserName);
        }
        else if (!await db.Users.AnyAsync(ct))
        {
            logger.LogError("Could not create the first admin '{Admin}': {Errors}", options.AdminUserName,
                string.Join(" ", created.Errors.Select(e => e.Description)));
        }
        // Otherwise another replica created it a moment ago.
    }
}
