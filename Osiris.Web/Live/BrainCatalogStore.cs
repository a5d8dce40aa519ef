using Osiris.Shared.Contracts;

namespace Osiris.Web.Live;

/// <summary>The brains the API offers and the global default, as the model pickers show them. Loaded by <see cref="LiveLoader"/>.</summary>
public sealed class BrainCatalogStore
{
    public event Action? Changed;

    public BrainCatalog? Catalog { get; private set; }

    /// <summary>True once the API answered that it has no brain catalog (an API that predates brains).</summary>
    public bool Unavailable { get; private set; }

    public void Set(BrainCatalog? catalog)
    {
        Catalog = catalog;
        Unavailable = catalog is null;
        Changed?.Invoke();
    }

    public void SetDefault(BrainChoice choice)
    {
        if (Catalog is { } catalog)
        {
            Catalog = catalog with { Default = choice };
            Changed?.Invoke();
        }
    }
}
