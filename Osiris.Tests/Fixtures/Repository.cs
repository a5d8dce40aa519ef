namespace Osiris.Tests.Fixtures;

/// <summary>Where the repository and the other projects' build output are, seen from the test assembly.</summary>
public static class Repository
{
    /// <summary>Debug or Release, as this test assembly was built (the other projects were built alike).</summary>
    public static string Configuration =>
        new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Osiris.sln")))
                {
                    return dir.FullName;
                }
            }
            throw new InvalidOperationException("The repository root (Osiris.sln) is not above " + AppContext.BaseDirectory);
        }
    }
}
