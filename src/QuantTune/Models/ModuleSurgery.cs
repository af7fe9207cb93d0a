using System.Reflection;
using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Models;

/// <summary>
/// Replaces submodules in place by path, e.g. every <see cref="Linear"/> of a model by a
/// quantized or adapted layer. The parent's registry and the field its forward uses (the field
/// has the module's name) both change.
/// </summary>
public static class ModuleSurgery
{
    /// <summary>
    /// Calls <paramref name="replacement"/> for every <see cref="Linear"/> under <paramref name="root"/>
    /// with its dotted path; a non-null result takes the layer's place. Returns the paths replaced.
    /// </summary>
    public static IReadOnlyList<string> ReplaceLinears(nn.Module root, Func<string, Linear, nn.Module<Tensor, Tensor>?> replacement)
    {
        var targets = root.named_modules().Where(m => m.module is Linear).Select(m => (m.name, (Linear)m.module)).ToList();
        var replaced = new List<string>();
        foreach (var (path, linear) in targets)
        {
            var next = replacement(path, linear);
            if (next is null) continue;
            Replace(root, path, next);
            replaced.Add(path);
        }
        return replaced;
    }

    /// <summary>Puts <paramref name="module"/> at <paramref name="path"/> (dotted, relative to <paramref name="root"/>).</summary>
    public static void Replace(nn.Module root, string path, nn.Module module)
    {
        var (parent, name, field) = Holder(root, path);
        if (!field.FieldType.IsInstanceOfType(module))
            throw new InvalidOperationException($"{path}: a {module.GetType().Name} cannot take the place of a {field.FieldType.Name}");
        parent.register_module(name, null!);
        field.SetValue(parent, module);
        parent.register_module(name, module);
    }

    /// <summary>Whether the field that holds the module at <paramref name="path"/> can hold a <paramref name="type"/> (an lm_head typed as <see cref="Linear"/> cannot hold another layer).</summary>
    public static bool CanHold(nn.Module root, string path, Type type) => Holder(root, path).Field.FieldType.IsAssignableFrom(type);

    /// <summary>
    /// The parent of the module at <paramref name="path"/>, the module's name there, and the field that holds it now (by identity:
    /// the module may be registered under the checkpoint's name, GPT-2's c_attn), or the field of that name.
    /// </summary>
    static (nn.Module Parent, string Name, FieldInfo Field) Holder(nn.Module root, string path)
    {
        int dot = path.LastIndexOf('.');
        var parent = dot < 0 ? root : Find(root, path[..dot]);
        var name = path[(dot + 1)..];
        var current = parent.named_children().FirstOrDefault(c => c.name == name).module;
        var fields = parent.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        var field = fields.FirstOrDefault(f => current is not null && ReferenceEquals(f.GetValue(parent), current))
            ?? fields.FirstOrDefault(f => f.Name == name)
            ?? throw new InvalidOperationException($"{parent.GetType().Name} has no field '{name}' to hold the replacement of {path}");
        return (parent, name, field);
    }

    public static nn.Module Find(nn.Module root, string path) =>
        root.named_modules().FirstOrDefault(m => m.name == path).module
        ?? throw new InvalidOperationException($"no module at '{path}'");
}
