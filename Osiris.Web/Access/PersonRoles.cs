using System.Security.Claims;
using Osiris.Shared.Contracts;

namespace Osiris.Web.Access;

/// <summary>What the signed-in person's role lets the UI offer. The API decides; the UI only hides what would be refused.</summary>
public static class PersonRoles
{
    public static bool CanOperate(this ClaimsPrincipal user) => user.IsInRole(Roles.Operator) || user.IsInRole(Roles.Admin);
}
