// Prints the facts of TorchServe's Predictions call from the descriptor compiled into its
// frontend jar (run as `java -cp model-server.jar ProtoCheck.java`), one per line, in the form
// torchserve.ts derives from bench/peers/torchserve_inference.proto, which it checks against these.
import com.google.protobuf.Descriptors.FieldDescriptor;
import org.pytorch.serve.grpc.inference.Inference;

public class ProtoCheck {
  private static String type(FieldDescriptor field) {
    if (field.isMapField()) {
      var entry = field.getMessageType();
      return "map<" + type(entry.findFieldByName("key")) + ", " + type(entry.findFieldByName("value")) + ">";
    }
    return field.getType() == FieldDescriptor.Type.MESSAGE
        ? field.getMessageType().getFullName()
        : field.getType().toString().toLowerCase();
  }

  public static void main(String[] args) {
    var file = Inference.getDescriptor();
    for (var service : file.getServices()) {
      for (var method : service.getMethods()) {
        System.out.println("rpc " + service.getFullName() + "." + method.getName() + "("
            + method.getInputType().getFullName() + ") " + method.getOutputType().getFullName());
      }
    }
    for (var message : file.getMessageTypes()) {
      for (var field : message.getFields()) {
        System.out.println(message.getFullName() + "." + field.getName() + " = " + field.getNumber() + " " + type(field));
      }
    }
  }
}
