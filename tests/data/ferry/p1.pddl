(define (problem ferry-1) (:domain ferry-typed)
  (:objects a b - place c1 c2 - car)
  (:init (at-ferry a) (empty-ferry) (at c1 a) (at c2 b))
  (:goal (and (at c1 b) (at c2 a))))
