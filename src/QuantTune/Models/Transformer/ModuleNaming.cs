using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>Registers a module's children under the checkpoint's names (<see cref="Config.ModuleNames"/>) instead of their field names.</summary>
internal static class ModuleNaming
{
    /// <summary>Re-registers <paramref name="owner"/>'s children in their order, each field in <paramref name="renames"/> under its checkpoint name.</summary>
    public static void Rename(nn.Module owner, params (string Field, string Name)[] renames)
    {
        if (renames.All(r => r.Field == r.Name)) return;
        var children = owner.named_children().ToList();
        foreach (var (name, _) in children) owner.register_module(name, null!);
        foreach (var (name, module) in children)
            owner.register_module(renames.FirstOrDefault(r => r.Field == name).Name ?? name, module);
    }
}
